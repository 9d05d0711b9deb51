// LoRA adapters (PEFT format) merged at load, against peft + transformers' float64 outputs
// (fixtures/lora/vit-tiny-qv-r4): the merged weight, adapted text / pixel / image-file
// embeddings for both checkpoint layouts, the model id, and clear errors for bad adapters.
#include <cmath>
#include <filesystem>
#include <functional>
#include <sstream>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/safetensors.h"
#include "image/decode.h"
#include "image/preprocess.h"
#include "model/checkpoint.h"
#include "model/clip_model.h"
#include "clipdex/clipdex.h"
#include "pipeline/embedder.h"
#include "pipeline/library.h"
#include "pipeline/reembed.h"
#include "test_util.h"

using namespace clipdex;
namespace fs = std::filesystem;

namespace {

const std::string kAdapter = "fixtures/lora/vit-tiny-qv-r4";

using test::expect_rows_close;

struct Golden {
  SafeTensors st = SafeTensors::open(test::shared_path(kAdapter + "/golden.safetensors"));
  std::vector<float> f(const std::string& name) const { return st.get(name).to_f32(); }
  std::vector<std::string> list(const std::string& key) const {
    return nlohmann::json::parse(st.metadata().at(key)).get<std::vector<std::string>>();
  }
};

model::LoadOptions with_adapter(const std::string& dir) {
  model::LoadOptions o;
  o.precision = kernels::Precision::Fp32;
  o.adapter = dir;
  return o;
}

// Both layouts of the same weights: Hugging Face (q/k/v apart) and open_clip (fused in_proj).
const char* const kLayouts[] = {"fixtures/models/vit-tiny/hf", "fixtures/models/vit-tiny"};

}  // namespace

TEST(Lora, MergedWeightIsWPlusScaledBA) {
  auto ck = model::Checkpoint::open(test::shared_path("fixtures/models/vit-tiny/hf/model.safetensors"));
  ck.set_adapter(model::LoraAdapter::open(test::shared_path(kAdapter)));
  const auto in_proj = ck.take("transformer.resblocks.0.attn.in_proj_weight", {192, 64}).data;
  const auto want = Golden().f("merged.text_model.encoder.layers.0.self_attn.v_proj.weight");
  ASSERT_EQ(want.size(), 64u * 64u);
  // v is the third block of rows of the fused projection.
  EXPECT_LE(test::row_rel_error(in_proj.data() + 128 * 64, want.data(), 64 * 64), 1e-6);
}

TEST(Lora, AdaptedEmbeddingsMatchPeftInBothLayouts) {
  const Golden g;
  const auto texts = g.list("texts");
  for (const char* layout : kLayouts) {
    SCOPED_TRACE(layout);
    auto e = pipeline::Embedder::open(test::shared_path(layout), test::shared_path("fixtures/models/vit-tiny/hf"),
                                      with_adapter(test::shared_path(kAdapter)));
    e->set_exact_decode(true);
    const int64_t d = e->dim();
    expect_rows_close(e->embed_texts(texts, false), g.f("text_embeds"), d, 1e-4, "texts");
    expect_rows_close(e->embed_texts(texts, false), g.f("merged_text_embeds"), d, 1e-4, "texts (merged)");
    const auto pixels = g.f("random_pixels");
    expect_rows_close(e->model().encode_images(pixels.data(), 2), g.f("random_pixels_embeds"), d, 1e-4, "random pixels");
    for (const auto& name : g.list("images")) {
      const std::string file = test::shared_path("fixtures/images/" + name + (name == "rocket" ? ".jpg" : ".png"));
      const auto px = image::preprocess(image::decode_image_file(file), e->model().preprocess_config());
      expect_rows_close(e->model().encode_images(px.data(), 1), g.f("image_" + name + "_embeds"), d, 2e-3, name);
    }
  }
}

TEST(Lora, TheAdapterIsPartOfTheModelId) {
  model::LoadOptions plain;
  plain.precision = kernels::Precision::Fp32;
  const auto base = model::Model::load(test::shared_path(kLayouts[0]), plain);
  const auto adapted = model::Model::load(test::shared_path(kLayouts[0]), with_adapter(test::shared_path(kAdapter)));
  EXPECT_NE(base->model_id(), adapted->model_id());
  EXPECT_EQ(adapted->model_id().rfind(base->model_id(), 0), 0u);  // the base id, then "+lora:..."
  EXPECT_NE(adapted->model_id().find("+lora:"), std::string::npos);
  EXPECT_EQ(adapted->info().adapter, fs::absolute(test::shared_path(kAdapter)).lexically_normal().string());
  // The same weights in the other layout with the same adapter are the same model.
  const auto open_clip = model::Model::load(test::shared_path(kLayouts[1]), with_adapter(test::shared_path(kAdapter)));
  EXPECT_NE(open_clip->model_id().find("+lora:" + adapted->info().adapter_hash), std::string::npos);
}

TEST(Lora, BadAdaptersAreClearErrors) {
  const std::string dir = test::scratch_dir("lora_errors");
  const auto load = [&](const std::string& adapter) { model::Model::load(test::shared_path(kLayouts[0]), with_adapter(adapter)); };
  const auto expect_error = [&](const std::string& adapter, const std::string& words) {
    try {
      load(adapter);
      ADD_FAILURE() << "no error for " << adapter;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  };
  expect_error(dir + "/missing", "not a folder");

  const auto copy_with_config = [&](const std::string& name, const std::function<void(nlohmann::json&)>& edit) {
    const std::string out = dir + "/" + name;
    fs::create_directories(out);
    fs::copy_file(test::shared_path(kAdapter + "/adapter_model.safetensors"), out + "/adapter_model.safetensors",
                  fs::copy_options::overwrite_existing);
    auto config = nlohmann::json::parse(std::ifstream(test::shared_path(kAdapter + "/adapter_config.json")));
    edit(config);
    std::ofstream(out + "/adapter_config.json") << config.dump();
    return out;
  };
  expect_error(copy_with_config("dora", [](auto& c) { c["use_dora"] = true; }), "DoRA");
  expect_error(copy_with_config("bias", [](auto& c) { c["bias"] = "all"; }), "bias");
  expect_error(copy_with_config("rank", [](auto& c) { c["r"] = 8; }), "r = 8");
  expect_error(copy_with_config("targets", [](auto& c) { c["target_modules"] = {"q_proj"}; }), "target_modules");
  const std::string broken = copy_with_config("broken_json", [](auto&) {});
  std::ofstream(broken + "/adapter_config.json") << "{\"r\": 4,";
  expect_error(broken, "JSON");
  // An adapter for another model: its modules are not there (ResNet) or have other shapes.
  try {
    model::Model::load(test::shared_path("fixtures/models/rn-tiny"), with_adapter(test::shared_path(kAdapter)));
    ADD_FAILURE() << "an adapter for a ViT loaded into a ResNet";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("adapter"), std::string::npos) << e.what();
  }
}

TEST(LoraCli, EmbedInfoIndexAndSearchTakeTheAdapter) {
  const Golden g;
  const std::string model = test::shared_path(kLayouts[0]), adapter = test::shared_path(kAdapter);
  std::string jsonl;
  for (const auto& t : g.list("texts")) jsonl += nlohmann::json{{"text", t}}.dump() + "\n";
  const auto r = test::run_cli("embed --precision fp32 --model " + model + " --adapter " + adapter, jsonl);
  ASSERT_EQ(r.exit_code, 0);
  std::vector<float> got;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);)
    for (float v : nlohmann::json::parse(line)["embedding"].get<std::vector<float>>()) got.push_back(v);
  expect_rows_close(got, g.f("text_embeds"), 64, 1e-4, "clipdex embed --adapter");

  const auto info = nlohmann::json::parse(test::run_cli("model info --json " + model + " --adapter " + adapter).out);
  EXPECT_NE(info["adapter"].get<std::string>().find("r 4, lora_alpha 8"), std::string::npos) << info.dump();
  EXPECT_NE(info["model_id"].get<std::string>().find("+lora:"), std::string::npos);

  // A library indexed with the adapter remembers it; another adapter is another model, refused.
  const std::string dir = test::scratch_dir("lora_cli");
  fs::create_directories(dir + "/photos");
  for (const auto& f : test::fixture_image_files()) fs::copy_file(test::shared_path("fixtures/images/" + f), dir + "/photos/" + f);
  ASSERT_EQ(test::run_cli("index " + dir + "/photos --quiet --precision fp32 --db " + dir + "/lib.db --model " + model +
                          " --adapter " + adapter).exit_code, 0);
  const auto hits = nlohmann::json::parse(test::run_cli("search 'a photo of a rocket' --json -k 1 --db " + dir + "/lib.db").out);
  ASSERT_EQ(hits["results"].size(), 1u);
  const auto other = test::run_cli("search 'a rocket' --db " + dir + "/lib.db --adapter " +
                                   test::shared_path("fixtures/lora/train-vit-tiny-qv-r4"));
  EXPECT_EQ(other.exit_code, 2);
}

TEST(LoraCli, AChangedAdapterReembedsTheLibrary) {
  const std::string model = test::shared_path(kLayouts[0]), first = test::shared_path(kAdapter);
  const std::string second = test::shared_path("fixtures/lora/train-vit-tiny-qv-r4");
  const std::string dir = test::scratch_dir("lora_reembed");
  fs::create_directories(dir + "/photos");
  for (const auto& f : test::fixture_image_files()) fs::copy_file(test::shared_path("fixtures/images/" + f), dir + "/photos/" + f);
  const std::string db = dir + "/lib.db";
  ASSERT_EQ(test::run_cli("index " + dir + "/photos --quiet --precision fp32 --db " + db + " --model " + model +
                          " --adapter " + first).exit_code, 0);
  std::ofstream(dir + "/captions.txt") << "a rocket launch\na cat\n";
  ASSERT_EQ(test::run_cli("index-texts " + dir + "/captions.txt --db " + db).exit_code, 0);
  const auto before = test::run_cli("search 'a rocket' --json -k 8 --db " + db).out;

  // The same base model with the other adapter: every image and caption is embedded again.
  const auto r = test::run_cli("index " + dir + "/photos --quiet --precision fp32 --db " + db + " --adapter " + second);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("re-embedded 8 images"), std::string::npos) << r.out;
  auto lib = Library::open(db);
  clipdex::ModelOptions fp32;
  fp32.precision = "fp32";
  const Model tuned = lib.model(fp32);
  EXPECT_EQ(tuned.adapter(), fs::canonical(second).string());
  const std::string rocket = fs::canonical(dir + "/photos/rocket.jpg").string();
  const auto direct = test::embed_with_cli(model, nlohmann::json{{"image", rocket}}.dump() + "\n", "fp32", "--adapter " + second);
  EXPECT_LE(test::row_rel_error(lib.embedding(lib.id_of(rocket)).data(), direct[0].data(), 64), 1e-5);
  const auto texts = lib.texts_for_image(tuned, rocket, 2);
  ASSERT_EQ(texts.size(), 2u);
  const auto caption = test::embed_with_cli(model, nlohmann::json{{"text", texts[0].text}}.dump() + "\n", "fp32", "--adapter " + second);
  float dot = 0;
  for (int i = 0; i < 64; ++i) dot += caption[0][i] * direct[0][i];
  EXPECT_NEAR(texts[0].score, dot, 1e-5);
  EXPECT_NE(test::run_cli("search 'a rocket' --json -k 8 --db " + db).out, before);
  EXPECT_EQ(test::run_cli("search 'a rocket' --db " + db + " --adapter " + first).exit_code, 2);

  // Another model altogether is refused, unless asked to re-embed.
  const std::string open_clip = test::shared_path(kLayouts[1]);
  const std::string vocab = " --vocab " + test::shared_path("clip/bpe_simple_vocab_16e6.txt.gz");
  EXPECT_EQ(test::run_cli("index " + dir + "/photos --quiet --db " + db + " --model " + open_clip + vocab).exit_code, 2);
  EXPECT_EQ(test::run_cli("index " + dir + "/photos --quiet --reembed --db " + db + " --model " + open_clip + vocab).exit_code, 0);
}

TEST(Lora, ReembeddingResumesFromStagedVectors) {
  const std::string model = test::shared_path(kLayouts[0]);
  const std::string dir = test::scratch_dir("lora_reembed_resume");
  fs::create_directories(dir + "/photos");
  for (const auto& f : test::fixture_image_files()) fs::copy_file(test::shared_path("fixtures/images/" + f), dir + "/photos/" + f);
  ASSERT_EQ(test::run_cli("index " + dir + "/photos --quiet --precision fp32 --db " + dir + "/lib.db --model " + model).exit_code, 0);
  pipeline::Library lib(dir + "/lib.db");
  const auto emb = pipeline::Embedder::open(model, "", with_adapter(test::shared_path(kAdapter)));
  // A run killed after staging one image: the next stages only the rest, and a deleted file's
  // image is forgotten at the swap.
  lib.catalog().begin_staging(emb->model_id());
  const int64_t first = lib.catalog().unstaged_contents(-1, 1).at(0).first;
  lib.catalog().stage_embeddings({{first, *lib.catalog().embedding(first)}});
  const int64_t second = lib.catalog().unstaged_contents(first, 1).at(0).first;
  fs::remove(lib.catalog().paths_of(second).at(0));
  pipeline::IndexOptions opt;
  opt.progress = false;
  const auto r = pipeline::reembed_library(lib, *emb, opt);
  EXPECT_EQ(r.images, 6);  // 8 images: one staged before, one gone
  EXPECT_EQ(r.forgotten, 1);
  EXPECT_EQ(lib.catalog().stats().contents, 7);
  EXPECT_EQ(*lib.catalog().meta("model_id"), emb->model_id());
  EXPECT_EQ(lib.catalog().staged_count(), 0);
}
