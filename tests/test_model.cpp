// Model parity with the reference implementation's float64 outputs for every fixture model and
// checkpoint layout, plus load-time validation of broken checkpoints and configs.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/safetensors.h"
#include "image/decode.h"
#include "image/preprocess.h"
#include "model/clip_model.h"
#include "model/passes.h"
#include "core/thread_pool.h"
#include "test_util.h"

using namespace clipdex;
using clipdex::model::Model;
namespace fs = std::filesystem;

namespace {

using test::expect_rows_close;

struct Golden {
  SafeTensors st;
  explicit Golden(const std::string& model) : st(SafeTensors::open(test::shared_path("fixtures/models/" + model + "/golden.safetensors"))) {}
  std::vector<float> f(const std::string& name) const { return st.get(name).to_f32(); }
};

std::vector<float> normalized(const float* v, int64_t d) {
  double n = 0;
  for (int64_t i = 0; i < d; ++i) n += double(v[i]) * v[i];
  std::vector<float> out(v, v + d);
  for (auto& x : out) x = static_cast<float>(x / std::sqrt(n));
  return out;
}

void check_model(const std::string& name, const std::string& subpath = "") {
  const auto model = Model::load(test::shared_path("fixtures/models/" + name + subpath));
  const Golden g(name);
  const int64_t d = model->embed_dim();
  const std::string tag = name + subpath;

  const auto pixels = g.f("random_pixels");
  const auto img = model->encode_images(pixels.data(), 3);
  expect_rows_close(img, g.f("random_pixels_embeds"), d, 1e-4, tag + " image");

  const auto ids = g.st.get("text_ids").to_i32();
  const auto txt = model->encode_texts(ids.data(), 6, 77);
  expect_rows_close(txt, g.f("text_embeds"), d, 1e-4, tag + " text");

  const auto logits = g.f("logits_per_image");
  for (int i = 0; i < 3; ++i)
    for (int t = 0; t < 6; ++t) {
      const auto a = normalized(&img[i * d], d), b = normalized(&txt[t * d], d);
      double cos = 0;
      for (int64_t k = 0; k < d; ++k) cos += double(a[k]) * b[k];
      EXPECT_NEAR(model->logit_scale() * cos, logits[i * 6 + t], 1e-3 * std::max(1.0, std::abs(double(logits[i * 6 + t]))))
          << tag << " logits " << i << "," << t;
    }
}

}  // namespace

TEST(ModelParity, VitTinyOpenClipLayout) { check_model("vit-tiny"); }
TEST(ModelParity, VitTinyHuggingFaceLayout) { check_model("vit-tiny", "/hf"); }
TEST(ModelParity, VitB32OneLayerF16) { check_model("vit-b32-1layer-f16"); }
TEST(ModelParity, ResNetTinyBf16) { check_model("rn-tiny"); }

TEST(ModelParity, BothVitTinyLayoutsGiveTheSameEmbeddings) {
  const auto a = Model::load(test::shared_path("fixtures/models/vit-tiny"));
  const auto b = Model::load(test::shared_path("fixtures/models/vit-tiny/hf"));
  EXPECT_EQ(a->info().layout, "open_clip");
  EXPECT_EQ(b->info().layout, "huggingface");
  const Golden g("vit-tiny");
  const auto pixels = g.f("random_pixels");
  const auto ids = g.st.get("text_ids").to_i32();
  const auto ia = a->encode_images(pixels.data(), 3), ib = b->encode_images(pixels.data(), 3);
  const auto ta = a->encode_texts(ids.data(), 6, 77), tb = b->encode_texts(ids.data(), 6, 77);
  for (size_t i = 0; i < ia.size(); ++i) EXPECT_NEAR(ia[i], ib[i], 1e-5);
  for (size_t i = 0; i < ta.size(); ++i) EXPECT_NEAR(ta[i], tb[i], 1e-5);
  EXPECT_FLOAT_EQ(a->logit_scale(), b->logit_scale());
}

TEST(ModelParity, StoppingAtEndOfTextEqualsRunningAllPositions) {
  for (const char* name : {"vit-tiny", "rn-tiny"}) {
    const auto m = Model::load(test::shared_path(std::string("fixtures/models/") + name));
    const Golden g(name);
    const auto ids = g.st.get("text_ids").to_i32();
    const auto cut = m->encode_texts(ids.data(), 6, 77, /*full_context=*/false);
    const auto full = m->encode_texts(ids.data(), 6, 77, /*full_context=*/true);
    for (size_t i = 0; i < cut.size(); ++i) EXPECT_NEAR(cut[i], full[i], 1e-5 * (1 + std::abs(full[i])));
  }
}

TEST(ModelParity, FixtureImageFilesMatchThroughThePreprocessing) {
  for (const char* name : {"vit-tiny", "vit-b32-1layer-f16", "rn-tiny"}) {
    const auto m = Model::load(test::shared_path(std::string("fixtures/models/") + name));
    const Golden g(name);
    for (const char* img : {"astronaut", "camera", "chelsea", "coffee", "green_palette", "logo", "motorcycle_right"}) {
      const auto pixels = image::preprocess(
          image::decode_image_file(test::shared_path(std::string("fixtures/images/") + img + ".png")), m->preprocess_config());
      const auto e = m->encode_images(pixels.data(), 1);
      expect_rows_close(e, g.f(std::string("image_") + img + "_embeds"), m->embed_dim(), 2e-3, std::string(name) + " " + img);
    }
    const auto rocket = image::preprocess(image::decode_image_file(test::shared_path("fixtures/images/rocket.jpg")),
                                          m->preprocess_config());
    expect_rows_close(m->encode_images(rocket.data(), 1), g.f("image_rocket_embeds"), m->embed_dim(), 2e-3,
                      std::string(name) + " rocket");
  }
}

TEST(ModelInfo, DescribesTheCheckpoint) {
  const auto m = Model::load(test::shared_path("fixtures/models/vit-b32-1layer-f16"));
  EXPECT_EQ(m->info().dtype, "F16");
  EXPECT_EQ(m->info().config_source, "open_clip_config.json");
  EXPECT_EQ(m->embed_dim(), 512);
  EXPECT_EQ(m->config().vision.heads(), 12);
  const auto rn = Model::load(test::shared_path("fixtures/models/rn-tiny/open_clip_model.safetensors"));
  EXPECT_EQ(rn->info().dtype, "BF16");
  EXPECT_EQ(rn->config().vision.heads(), 4);
  EXPECT_NE(m->model_id(), rn->model_id());
}

TEST(ModelLoad, InfersTheArchitectureWithoutAConfig) {
  const std::string dir = test::scratch_dir("no-config");
  for (const char* name : {"vit-tiny", "rn-tiny"}) {
    const std::string file = dir + "/" + name + ".safetensors";
    fs::copy_file(test::shared_path(std::string("fixtures/models/") + name + "/open_clip_model.safetensors"), file);
    const auto m = Model::load(file);
    EXPECT_EQ(m->info().config_source, "inferred");
    const auto with_cfg = Model::load(test::shared_path(std::string("fixtures/models/") + name));
    const Golden g(name);
    const auto ids = g.st.get("text_ids").to_i32();
    EXPECT_EQ(m->encode_texts(ids.data(), 6, 77), with_cfg->encode_texts(ids.data(), 6, 77));
    fs::remove(file);
  }
}

namespace {
std::string load_error(const std::string& path, const model::LoadOptions& opt = {}) {
  try {
    Model::load(path, opt);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(ModelLoad, BrokenCheckpointsFailWithClearMessages) {
  const std::string dir = test::scratch_dir("broken-models");
  const std::string src = test::shared_path("fixtures/models/vit-tiny/open_clip_model.safetensors");
  const std::string bytes = read_file(src);

  fs::create_directories(dir + "/truncated");
  std::ofstream(dir + "/truncated/open_clip_model.safetensors", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  EXPECT_NE(load_error(dir + "/truncated").find("past the data"), std::string::npos);

  fs::create_directories(dir + "/garbage");
  std::ofstream(dir + "/garbage/open_clip_model.safetensors", std::ios::binary) << "this is not a model at all";
  EXPECT_NE(load_error(dir + "/garbage").find("header length"), std::string::npos);

  // A config that does not match the tensors: the error names the tensor and both shapes.
  fs::create_directories(dir + "/mismatch");
  fs::copy_file(src, dir + "/mismatch/open_clip_model.safetensors");
  auto cfg = nlohmann::json::parse(read_file(test::shared_path("fixtures/models/vit-tiny/open_clip_config.json")));
  cfg["model_cfg"]["vision_cfg"]["width"] = 256;
  std::ofstream(dir + "/mismatch/open_clip_config.json") << cfg.dump();
  const std::string e = load_error(dir + "/mismatch");
  EXPECT_NE(e.find("visual.conv1.weight"), std::string::npos) << e;
  EXPECT_NE(e.find("[128, 3, 32, 32]"), std::string::npos) << e;

  // Fewer layers in the config than in the file: the unused tensors are reported.
  cfg["model_cfg"]["vision_cfg"]["width"] = 128;
  cfg["model_cfg"]["vision_cfg"]["layers"] = 1;
  std::ofstream(dir + "/mismatch/open_clip_config.json") << cfg.dump();
  EXPECT_NE(load_error(dir + "/mismatch").find("not used by the model"), std::string::npos);

  std::ofstream(dir + "/mismatch/open_clip_config.json") << "{ broken json";
  EXPECT_NE(load_error(dir + "/mismatch").find("not valid JSON"), std::string::npos);

  // Unknown layout: tensors named neither like open_clip nor like Hugging Face.
  write_safetensors(dir + "/unknown.safetensors", {{"encoder.weight", make_f32_tensor({2}, std::vector<float>{1, 2})}});
  EXPECT_NE(load_error(dir + "/unknown.safetensors").find("unknown checkpoint layout"), std::string::npos);

  EXPECT_NE(load_error(src, {"ViT-B-32"}).find("needs"), std::string::npos);
  EXPECT_NE(load_error(src, {"ViT-X-99"}).find("unknown architecture"), std::string::npos);
  EXPECT_NE(load_error(dir + "/does-not-exist").find("does not exist"), std::string::npos);
}

// A batch's passes cover every input once, in order; per-thread shares differ in size by at most
// one input and so do the passes within one (a shared plan's last pass takes what is left).
TEST(Passes, PlansCoverTheBatchInBalancedShares) {
  struct Case {
    int64_t n, threads, pass, thread_pass;
    bool per_thread;
  };
  for (const Case& c : {Case{37, 2, 4, 4, true}, Case{4, 2, 4, 4, true}, Case{3, 2, 4, 4, false},
                        Case{37, 2, 4, 0, false}, Case{37, 1, 8, 4, false}, Case{100, 16, 32, 4, true},
                        Case{9, 4, 32, 4, true}, Case{0, 2, 4, 4, false}}) {
    const auto plan = model::plan_passes(c.n, c.threads, c.pass, c.thread_pass);
    EXPECT_EQ(plan.per_thread, c.per_thread) << c.n << " on " << c.threads;
    EXPECT_EQ(static_cast<int64_t>(plan.shares.size()), c.per_thread ? c.threads : 1);
    int64_t next = 0, smallest = c.n, largest = 0;
    for (const auto& share : plan.shares) {
      int64_t size = 0, pass_min = c.n, pass_max = 0;
      for (const auto& p : share) {
        EXPECT_EQ(p.begin, next) << c.n;
        EXPECT_GT(p.end, p.begin);
        EXPECT_LE(p.end - p.begin, c.per_thread ? c.thread_pass : c.pass);
        pass_min = std::min(pass_min, p.end - p.begin);
        pass_max = std::max(pass_max, p.end - p.begin);
        size += p.end - p.begin;
        next = p.end;
      }
      if (c.per_thread && !share.empty()) {
        EXPECT_LE(pass_max - pass_min, 1) << c.n;
      }
      smallest = std::min(smallest, size);
      largest = std::max(largest, size);
    }
    EXPECT_EQ(next, c.n);
    if (c.per_thread) {
      EXPECT_LE(largest - smallest, 1) << c.n;
    }
  }
}

// A per-thread plan runs each share's passes on one pool thread, each share on its own.
TEST(Passes, PerThreadSharesRunOnThreadsOfTheirOwn) {
  const auto threads = static_cast<int64_t>(ThreadPool::global().active());
  if (threads < 2) GTEST_SKIP() << "one pool thread";
  const auto plan = model::plan_passes(8 * threads, threads, 8, 2);
  ASSERT_TRUE(plan.per_thread);
  std::mutex mu;
  std::map<int64_t, std::thread::id> ran_on;
  model::run_passes(plan, [&](int64_t b, int64_t) {
    std::lock_guard lock(mu);
    ran_on[b] = std::this_thread::get_id();
  });
  std::set<std::thread::id> share_threads;
  for (const auto& share : plan.shares) {
    for (const auto& p : share) EXPECT_EQ(ran_on.at(p.begin), ran_on.at(share[0].begin));
    share_threads.insert(ran_on.at(share[0].begin));
  }
  EXPECT_EQ(static_cast<int64_t>(share_threads.size()), threads);
}
