// Near-duplicate groups from `clipdex duplicates` against connected components computed by
// brute force over every pair of `clipdex embed` outputs, on the fixture photos plus re-encoded
// and resized copies of two of them.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "image/decode.h"
#include "image/encode.h"
#include "image/resample.h"
#include "test_util.h"

using namespace clipdex;
namespace fs = std::filesystem;

namespace {

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// Connected components of the graph "cosine >= threshold", as sets of paths, size >= 2.
std::set<std::set<std::string>> brute_force_groups(const std::vector<std::string>& paths,
                                                   const std::vector<std::vector<float>>& v, float threshold) {
  const size_t n = paths.size();
  std::vector<size_t> group(n);
  for (size_t i = 0; i < n; ++i) group[i] = i;
  bool changed = true;
  while (changed) {  // label propagation until stable: plain, and obviously right
    changed = false;
    for (size_t i = 0; i < n; ++i)
      for (size_t j = 0; j < n; ++j) {
        double s = 0;
        for (size_t d = 0; d < v[i].size(); ++d) s += double(v[i][d]) * v[j][d];
        if (s >= threshold && group[j] < group[i]) group[i] = group[j], changed = true;
      }
  }
  std::map<size_t, std::set<std::string>> by;
  for (size_t i = 0; i < n; ++i) by[group[i]].insert(paths[i]);
  std::set<std::set<std::string>> out;
  for (auto& [g, members] : by)
    if (members.size() > 1) out.insert(members);
  return out;
}

}  // namespace

TEST(Duplicates, GroupsMatchABruteForceOverEveryPair) {
  const std::string dir = test::scratch_dir("duplicates");
  const std::string imgs = dir + "/imgs";
  fs::create_directories(imgs);
  const std::string fixtures = test::shared_path("fixtures/images");
  std::vector<std::string> paths;
  for (const auto& f : test::fixture_image_files()) {
    fs::copy_file(fixtures + "/" + f, imgs + "/" + f);
    paths.push_back(imgs + "/" + f);
  }
  const image::Image cat = image::to_rgb(image::decode_image_file(fixtures + "/chelsea.png"));
  write_bytes(imgs + "/chelsea-q70.jpg", image::encode_jpeg(cat, 70));
  write_bytes(imgs + "/chelsea-small.jpg",
              image::encode_jpeg(image::resize(cat, cat.width * 9 / 10, cat.height * 9 / 10, image::Filter::Bicubic), 90));
  write_bytes(imgs + "/rocket-q60.jpg", image::encode_jpeg(image::decode_image_file(fixtures + "/rocket.jpg"), 60));
  for (const char* f : {"chelsea-q70.jpg", "chelsea-small.jpg", "rocket-q60.jpg"}) paths.push_back(imgs + "/" + f);

  const std::string model = test::shared_path("fixtures/models/vit-tiny/hf");
  const std::string db = dir + "/lib.db";
  ASSERT_EQ(test::run_cli("index " + imgs + " --quiet --precision fp32 --db " + db + " --model " + model).exit_code, 0);
  std::string input;
  for (const auto& p : paths) input += nlohmann::json{{"image", p}}.dump() + "\n";
  const auto v = test::embed_with_cli(model, input);
  ASSERT_EQ(v.size(), paths.size());

  for (float threshold : {0.99f, 0.95f, 0.9f, 0.8f}) {
    const auto want = brute_force_groups(paths, v, threshold);
    const auto r = test::run_cli("duplicates --json --threshold " + std::to_string(threshold) + " --db " + db);
    ASSERT_EQ(r.exit_code, 0);
    std::set<std::set<std::string>> got;
    size_t previous = SIZE_MAX;
    std::istringstream out(r.out);
    for (std::string line; std::getline(out, line);) {
      const auto g = nlohmann::json::parse(line);
      std::set<std::string> members;
      for (const auto& img : g["images"]) members.insert(img["path"].get<std::string>());
      EXPECT_EQ(g["size"].get<size_t>(), members.size());
      EXPECT_LE(members.size(), previous) << "largest groups first";
      EXPECT_GE(g["min_score"].get<double>(), threshold - 1e-6);
      previous = members.size();
      got.insert(members);
    }
    EXPECT_EQ(got, want) << "threshold " << threshold;
    if (threshold >= 0.95f) {  // the copies find their originals
      EXPECT_TRUE(want.count({imgs + "/chelsea.png", imgs + "/chelsea-q70.jpg", imgs + "/chelsea-small.jpg"}))
          << threshold;
      EXPECT_TRUE(want.count({imgs + "/rocket.jpg", imgs + "/rocket-q60.jpg"})) << threshold;
    }
  }
  // The approximate index types find the same groups (PQ scores re-scored exactly).
  for (const std::string type : {"hnsw", "ivfpq"}) {
    const std::string other = dir + "/" + type + ".db";
    ASSERT_EQ(test::run_cli("index " + imgs + " --quiet --precision fp32 --index-type " + type + " --db " + other +
                            " --model " + model)
                  .exit_code,
              0);
    // Content ids depend on the order files finished decoding: compare paths and scores.
    auto summary = [](const std::string& out) {
      std::vector<std::pair<std::set<std::string>, float>> groups;
      std::istringstream lines(out);
      for (std::string line; std::getline(lines, line);) {
        const auto g = nlohmann::json::parse(line);
        std::set<std::string> paths;
        for (const auto& img : g["images"]) paths.insert(img["path"].get<std::string>());
        groups.push_back({paths, g["min_score"].get<float>()});
      }
      return groups;
    };
    const auto a = test::run_cli("duplicates --json --threshold 0.9 --db " + db);
    const auto b = test::run_cli("duplicates --json --threshold 0.9 --db " + other);
    ASSERT_EQ(b.exit_code, 0);
    const auto ga = summary(a.out), gb = summary(b.out);
    ASSERT_EQ(ga.size(), gb.size()) << type;
    for (size_t i = 0; i < ga.size(); ++i) {
      EXPECT_EQ(ga[i].first, gb[i].first) << type << " group " << i;
      EXPECT_NEAR(ga[i].second, gb[i].second, 1e-5) << type << " group " << i;
    }
  }
  EXPECT_EQ(test::run_cli("duplicates --threshold 0 --db " + db).exit_code, 2);
  EXPECT_EQ(test::run_cli("duplicates --threshold nan --db " + db).exit_code, 2);
}
