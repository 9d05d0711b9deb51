// Combined queries: the weighted-sum arithmetic, the TEXT[:WEIGHT] syntax, and `clipdex search`
// with several terms against a brute force over `clipdex embed` outputs.
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "search/query_terms.h"
#include "test_util.h"

using namespace clipdex;
using search::combine_terms;
using search::split_weight;

TEST(QueryTerms, WeightedSumIsRenormalised) {
  const std::vector<float> x = {1, 0, 0}, y = {0, 1, 0};
  const auto v = combine_terms({{x, 1.0f}, {y, -0.5f}});
  const double n = std::sqrt(1.0 + 0.25);
  EXPECT_NEAR(v[0], 1.0 / n, 1e-6);
  EXPECT_NEAR(v[1], -0.5 / n, 1e-6);
  EXPECT_EQ(v[2], 0.0f);
  EXPECT_EQ(combine_terms({{x, 3.0f}}), x);  // one term: itself, whatever its positive weight
}

TEST(QueryTerms, EmptyCancellingAndBrokenQueriesAreRefused) {
  const std::vector<float> x = {0.6f, 0.8f};
  EXPECT_THROW(combine_terms({}), InputError);
  EXPECT_THROW(combine_terms({{x, 1.0f}, {x, -1.0f}}), InputError);  // cancels to zero, not NaN
  EXPECT_THROW(combine_terms({{x, 0.0f}}), InputError);
  EXPECT_THROW(combine_terms({{x, NAN}}), InputError);
  EXPECT_THROW(combine_terms({{x, INFINITY}}), InputError);
  EXPECT_THROW(combine_terms({{x, 1.0f}, {{1, 0, 0}, 1.0f}}), InputError);
}

TEST(QueryTerms, WeightSuffixIsParsedOnlyWhenItIsANumber) {
  EXPECT_EQ(split_weight("night:0.5"), std::make_pair(std::string("night"), 0.5f));
  EXPECT_EQ(split_weight("ref.jpg:-1"), std::make_pair(std::string("ref.jpg"), -1.0f));
  EXPECT_EQ(split_weight("a red car"), std::make_pair(std::string("a red car"), 1.0f));
  EXPECT_EQ(split_weight("time: 10 am"), std::make_pair(std::string("time: 10 am"), 1.0f));
  EXPECT_EQ(split_weight("ratio 3:2:1"), std::make_pair(std::string("ratio 3:2"), 1.0f));
  EXPECT_EQ(split_weight("x:"), std::make_pair(std::string("x:"), 1.0f));
  EXPECT_EQ(split_weight("x:nan"), std::make_pair(std::string("x:nan"), 1.0f));
  EXPECT_EQ(split_weight("x:1e40"), std::make_pair(std::string("x:1e40"), 1.0f));  // not a finite float
}


TEST(QueryTermsCli, CombinedSearchMatchesBruteForce) {
  const std::string dir = test::scratch_dir("query-terms");
  const std::string db = dir + "/lib.db";
  const std::string model = test::shared_path("fixtures/models/vit-tiny/hf");
  const std::string images = test::shared_path("fixtures/images");
  ASSERT_EQ(test::run_cli("index " + images + " --quiet --precision fp32 --db " + db + " --model " + model).exit_code, 0);
  const auto& files = test::fixture_image_files();
  std::string input;
  for (const auto& f : files) input += nlohmann::json{{"image", images + "/" + f}}.dump() + "\n";
  input += nlohmann::json{{"text", "a red motorcycle"}}.dump() + "\n";
  input += nlohmann::json{{"text", "night"}}.dump() + "\n";
  const auto e = test::embed_with_cli(model, input);
  ASSERT_EQ(e.size(), files.size() + 2);
  const size_t n = files.size(), rocket = 7;
  ASSERT_EQ(files[rocket], "rocket.jpg");

  // "a red motorcycle" - 0.5 "night" + 0.25 rocket.jpg, by brute force over the embeddings.
  std::vector<double> q(e[0].size());
  for (size_t i = 0; i < q.size(); ++i) q[i] = e[n][i] - 0.5 * e[n + 1][i] + 0.25 * e[rocket][i];
  std::vector<std::pair<double, std::string>> want;
  for (size_t img = 0; img < n; ++img) {
    double s = 0, norm = 0;
    for (size_t i = 0; i < q.size(); ++i) s += q[i] * e[img][i], norm += q[i] * q[i];
    want.push_back({s / std::sqrt(norm), files[img]});
  }
  std::sort(want.rbegin(), want.rend());

  const auto r = test::run_cli("search \"a red motorcycle\" --minus night:0.5 --image " + images +
                               "/rocket.jpg:0.25 -k 8 --json --db " + db);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto got = nlohmann::json::parse(r.out)["results"];
  ASSERT_EQ(got.size(), n);
  for (size_t i = 0; i < n; ++i) {
    EXPECT_NEAR(got[i]["score"].get<double>(), want[i].first, 1e-4) << i;
    EXPECT_NE(got[i]["path"].get<std::string>().find(want[i].second), std::string::npos) << i;
  }

  // --like by id and by path name the same image, and leave it out of its own results.
  const auto by_path = test::run_cli("search --like " + images + "/rocket.jpg -k 3 --json --db " + db);
  ASSERT_EQ(by_path.exit_code, 0);
  const auto first = nlohmann::json::parse(by_path.out)["results"];
  const auto id_of_rocket = test::run_cli("search --image " + images + "/rocket.jpg -k 1 --json --db " + db);
  const int64_t id = nlohmann::json::parse(id_of_rocket.out)["results"][0]["id"];
  const auto by_id = test::run_cli("search --like " + std::to_string(id) + " -k 3 --json --db " + db);
  ASSERT_EQ(by_id.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(by_id.out)["results"], first);
  for (const auto& hit : first) EXPECT_NE(hit["id"].get<int64_t>(), id);

  // Paging: --offset skips that many of the same ranking; past the depth cap is refused.
  const auto page = test::run_cli("search \"a red motorcycle\" --minus night:0.5 --image " + images +
                                  "/rocket.jpg:0.25 -k 3 --offset 4 --json --db " + db);
  ASSERT_EQ(page.exit_code, 0);
  const auto paged = nlohmann::json::parse(page.out)["results"];
  ASSERT_EQ(paged.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(paged[i]["id"], got[4 + i]["id"]) << i;
  EXPECT_EQ(test::run_cli("search night -k 10 --offset 9995 --db " + db).exit_code, 2);

  // Terms that cancel are refused (exit 2), not searched with a zero vector.
  EXPECT_EQ(test::run_cli("search --text night --minus night --db " + db).exit_code, 2);
  EXPECT_EQ(test::run_cli("search --db " + db).exit_code, 2);
}
