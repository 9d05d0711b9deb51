// Evaluation metrics against an independent brute-force computation (ties, several captions per
// image, K larger than the set), dataset formats, and end-to-end runs of `clipdex eval`.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "eval/datasets.h"
#include "eval/metrics.h"
#include "test_util.h"

using namespace clipdex;
namespace fs = std::filesystem;

namespace {

// Rank (1-based) of `target` among `scores`: strictly better scores, and equal ones listed first.
size_t brute_rank(const std::vector<float>& scores, size_t target) {
  size_t r = 1;
  for (size_t j = 0; j < scores.size(); ++j)
    if (scores[j] > scores[target] || (scores[j] == scores[target] && j < target)) ++r;
  return r;
}

struct Brute {
  double t2i_r = 0, i2t_r = 0, t2i_ap = 0, i2t_ap = 0, t2i_mean = 0, i2t_mean = 0;
};

Brute brute_force(const std::vector<float>& sim, size_t nc, size_t ni, const std::vector<size_t>& img, size_t k) {
  Brute b;
  for (size_t c = 0; c < nc; ++c) {
    const std::vector<float> row(sim.begin() + c * ni, sim.begin() + (c + 1) * ni);
    const size_t r = brute_rank(row, img[c]);
    b.t2i_mean += r;
    if (r <= k) b.t2i_r += 1, b.t2i_ap += 1.0 / r;
  }
  for (size_t i = 0; i < ni; ++i) {
    std::vector<float> col(nc);
    for (size_t c = 0; c < nc; ++c) col[c] = sim[c * ni + i];
    std::vector<size_t> ranks;
    for (size_t c = 0; c < nc; ++c)
      if (img[c] == i) ranks.push_back(brute_rank(col, c));
    std::sort(ranks.begin(), ranks.end());
    b.i2t_mean += ranks[0];
    if (ranks[0] <= k) b.i2t_r += 1;
    // AP@k: precision at the rank of each relevant item within the top k.
    double ap = 0;
    for (size_t n = 0; n < ranks.size(); ++n)
      if (ranks[n] <= k) ap += double(n + 1) / ranks[n];
    b.i2t_ap += ap / std::min(k, ranks.size());
  }
  b.t2i_r /= nc, b.t2i_ap /= nc, b.t2i_mean /= nc;
  b.i2t_r /= ni, b.i2t_ap /= ni, b.i2t_mean /= ni;
  return b;
}

}  // namespace

TEST(EvalMetrics, PerfectRetrievalScoresOne) {
  // 2 images, captions 0,1 -> image 0, caption 2 -> image 1.
  const std::vector<float> sim = {0.9f, 0.1f, 0.8f, 0.2f, 0.1f, 0.7f};
  const auto m = eval::retrieval_metrics(sim, 3, 2, {0, 0, 1}, {1, 5});
  EXPECT_DOUBLE_EQ(m.t2i_recall.at(1), 1.0);
  EXPECT_DOUBLE_EQ(m.i2t_recall.at(1), 1.0);
  EXPECT_DOUBLE_EQ(m.i2t_map.at(5), 1.0);  // both captions of image 0 ranked 1 and 2
  EXPECT_DOUBLE_EQ(m.t2i_mean_rank, 1.0);
}

TEST(EvalMetrics, HandCheckedExample) {
  // Caption 0 prefers image 1; image 0's only caption is ranked 2nd for it.
  const std::vector<float> sim = {0.2f, 0.6f, 0.5f, 0.4f};  // captions x images
  const auto m = eval::retrieval_metrics(sim, 2, 2, {0, 1}, {1, 2});
  EXPECT_DOUBLE_EQ(m.t2i_recall.at(1), 0.0);   // caption 0 -> image 0 at rank 2; caption 1 -> image 1 at rank 2
  EXPECT_DOUBLE_EQ(m.t2i_recall.at(2), 1.0);
  EXPECT_DOUBLE_EQ(m.t2i_map.at(2), 0.5);
  EXPECT_DOUBLE_EQ(m.i2t_recall.at(1), 0.0);   // image 0: caption 1 (0.5) beats caption 0 (0.2)
  EXPECT_DOUBLE_EQ(m.t2i_mean_rank, 2.0);
}

TEST(EvalMetrics, MatchBruteForceWithTiesManyCaptionsAndLargeK) {
  std::mt19937 rng(9);
  for (int trial = 0; trial < 50; ++trial) {
    const size_t ni = 2 + rng() % 9;
    std::vector<size_t> img;
    for (size_t i = 0; i < ni; ++i)
      for (size_t c = 0, n = 1 + rng() % 5; c < n; ++c) img.push_back(i);  // 1..5 captions per image
    std::shuffle(img.begin(), img.end(), rng);
    const size_t nc = img.size();
    std::vector<float> sim(nc * ni);
    for (auto& s : sim) s = static_cast<float>(rng() % 4) / 4.0f;  // few distinct values: many ties
    const std::vector<int> ks = {1, 3, 5, 50};
    const auto m = eval::retrieval_metrics(sim, nc, ni, img, ks);
    for (int k : ks) {
      const auto b = brute_force(sim, nc, ni, img, static_cast<size_t>(k));
      EXPECT_NEAR(m.t2i_recall.at(k), b.t2i_r, 1e-12) << trial << " k=" << k;
      EXPECT_NEAR(m.i2t_recall.at(k), b.i2t_r, 1e-12) << trial << " k=" << k;
      EXPECT_NEAR(m.t2i_map.at(k), b.t2i_ap, 1e-12) << trial << " k=" << k;
      EXPECT_NEAR(m.i2t_map.at(k), b.i2t_ap, 1e-12) << trial << " k=" << k;
      EXPECT_NEAR(m.t2i_mean_rank, b.t2i_mean, 1e-12);
      EXPECT_NEAR(m.i2t_mean_rank, b.i2t_mean, 1e-12);
    }
    EXPECT_DOUBLE_EQ(m.t2i_recall.at(50), 1.0);  // K past the set finds everything
  }
}

TEST(EvalMetrics, TopKAccuracy) {
  const std::vector<float> scores = {0.9f, 0.1f, 0.0f, 0.2f, 0.3f, 0.5f, 0.4f, 0.4f, 0.1f};
  const auto acc = eval::topk_accuracy(scores, 3, 3, {0, 1, 1}, {1, 2});
  EXPECT_NEAR(acc.at(1), 1.0 / 3, 1e-12);  // row 1 prefers class 2; row 2 ties 0.4/0.4: class 0 first
  EXPECT_NEAR(acc.at(2), 1.0, 1e-12);
  EXPECT_THROW(eval::retrieval_metrics({0.5f}, 1, 2, {0}, {1}), InputError);
}

namespace {

const std::vector<std::string>& kImages = test::fixture_image_files();
const std::vector<std::pair<std::string, std::string>>& kCaptions = test::fixture_image_captions();

}  // namespace

TEST(EvalDatasets, KarpathyJsonlAndCsvReadTheSamePairs) {
  const std::string dir = test::scratch_dir("datasets");
  nlohmann::json k = {{"images", nlohmann::json::array()}};
  std::ofstream jl(dir + "/c.jsonl"), csv(dir + "/c.csv");
  csv << "image,caption\n";
  for (size_t i = 0; i < kImages.size(); ++i) {
    k["images"].push_back({{"filename", kImages[i]}, {"split", i < 6 ? "test" : "train"},
                           {"sentences", {{{"raw", kCaptions[i].first}}, {{"raw", kCaptions[i].second}}}}});
    for (const auto& c : {kCaptions[i].first, kCaptions[i].second}) {
      jl << nlohmann::json{{"image", kImages[i]}, {"caption", c}}.dump() << "\n";
      csv << kImages[i] << ",\"" << c << "\"\n";
    }
  }
  std::ofstream(dir + "/k.json") << k.dump();
  jl.close();
  csv.close();
  const auto a = eval::load_caption_set(dir + "/k.json", "/imgs", "test");
  EXPECT_EQ(a.images.size(), 6u);
  EXPECT_EQ(a.captions.size(), 12u);
  EXPECT_EQ(a.images[0], "/imgs/astronaut.png");
  const auto b = eval::load_caption_set(dir + "/c.jsonl", "/imgs", "");
  const auto c = eval::load_caption_set(dir + "/c.csv", "/imgs", "");
  EXPECT_EQ(b.captions, c.captions);
  EXPECT_EQ(b.caption_image, c.caption_image);
  EXPECT_EQ(b.images.size(), 8u);
  std::ofstream(dir + "/bad.jsonl") << "{\"image\": 3}\n";
  EXPECT_THROW(eval::load_caption_set(dir + "/bad.jsonl", "/", ""), InputError);
  EXPECT_THROW(eval::load_caption_set(dir + "/k.json", "/", "val"), InputError);  // empty split
}

TEST(EvalCli, RetrievalOnTheFixtureImagesMatchesEmbedOutputs) {
  const std::string dir = test::scratch_dir("eval-e2e");
  const std::string images = test::shared_path("fixtures/images");
  std::ofstream jl(dir + "/c.jsonl");
  std::string embed_in;
  for (const auto& f : kImages) embed_in += nlohmann::json{{"image", images + "/" + f}}.dump() + "\n";
  for (size_t i = 0; i < kImages.size(); ++i)
    for (const auto& c : {kCaptions[i].first, kCaptions[i].second}) {
      jl << nlohmann::json{{"image", kImages[i]}, {"caption", c}}.dump() << "\n";
      embed_in += nlohmann::json{{"text", c}}.dump() + "\n";
    }
  jl.close();
  const std::string model = test::shared_path("fixtures/models/vit-tiny/hf");
  auto r = test::run_cli("eval retrieval --json --model " + model + " --captions " + dir + "/c.jsonl --images " + images);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["captions"], 16);
  EXPECT_EQ(j["images"], 8);

  // Independent path: embeddings from `clipdex embed`, ranks by brute force.
  auto e = test::run_cli("embed --normalize --model " + model, embed_in);
  ASSERT_EQ(e.exit_code, 0);
  std::vector<std::vector<float>> v;
  std::istringstream lines(e.out);
  for (std::string line; std::getline(lines, line);) v.push_back(nlohmann::json::parse(line)["embedding"].get<std::vector<float>>());
  ASSERT_EQ(v.size(), 24u);
  std::vector<float> sim;
  std::vector<size_t> img;
  for (size_t c = 0; c < 16; ++c) {
    img.push_back(c / 2);
    for (size_t i = 0; i < 8; ++i) {
      float s = 0;
      for (size_t d = 0; d < v[i].size(); ++d) s += v[8 + c][d] * v[i][d];
      sim.push_back(s);
    }
  }
  for (size_t k : {1, 5, 10}) {
    const auto b = brute_force(sim, 16, 8, img, k);
    const std::string ks = std::to_string(k);
    EXPECT_NEAR(j["text_to_image"]["recall"][ks].get<double>(), 100 * b.t2i_r, 1e-6) << k;
    EXPECT_NEAR(j["image_to_text"]["recall"][ks].get<double>(), 100 * b.i2t_r, 1e-6) << k;
    EXPECT_NEAR(j["text_to_image"]["map"][ks].get<double>(), 100 * b.t2i_ap, 1e-6) << k;
  }
  EXPECT_GT(j["throughput"]["images_per_second"].get<double>(), 0);
  EXPECT_NE(test::run_cli("eval retrieval --model " + model + " --captions /missing.jsonl --images /").exit_code, 0);
}

TEST(EvalCli, ZeroShotOnClassFolders) {
  const std::string dir = test::scratch_dir("eval-zs");
  const std::string images = test::shared_path("fixtures/images");
  for (const auto& [cls, files] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"cat", {"chelsea.png"}}, {"space_rocket", {"rocket.jpg", "astronaut.png"}}, {"coffee", {"coffee.png"}}}) {
    fs::create_directories(dir + "/" + cls);
    for (const auto& f : files) fs::copy_file(images + "/" + f, dir + "/" + cls + "/" + f);
  }
  const std::string model = test::shared_path("fixtures/models/vit-tiny/hf");
  auto r = test::run_cli("eval zeroshot --json -k 1 -k 3 --model " + model + " --data " + dir + " --cache " + dir + "/cache");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["images"], 4);
  EXPECT_EQ(j["classes"], 3);
  EXPECT_DOUBLE_EQ(j["accuracy"]["3"].get<double>(), 100.0);  // top-3 of 3 classes
  // Top-1 agrees with `clipdex classify` on the same labels and template.
  int correct = 0;
  for (const auto& [cls, file] : std::vector<std::pair<std::string, std::string>>{
           {"cat", "cat/chelsea.png"}, {"space rocket", "space_rocket/rocket.jpg"},
           {"space rocket", "space_rocket/astronaut.png"}, {"coffee", "coffee/coffee.png"}}) {
    auto c = test::run_cli("classify --json --no-cache --top 1 --model " + model + " --labels \"cat,coffee,space rocket\" " + dir + "/" + file);
    ASSERT_EQ(c.exit_code, 0);
    correct += nlohmann::json::parse(c.out)["predictions"][0]["label"] == cls;
  }
  EXPECT_NEAR(j["accuracy"]["1"].get<double>(), 100.0 * correct / 4, 1e-9);
}
