// Multilingual text towers against the reference (float64 goldens from M-CLIP's and open_clip's
// own code): the M-CLIP layout (text only, linear head) and open_clip's xlm-roberta CLIP (mlp
// head, with its ViT), padded batches equal single texts, and the pairing of an M-CLIP text
// tower with a CLIP image tower end to end.
#include <cmath>
#include <filesystem>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/safetensors.h"
#include "image/decode.h"
#include "image/preprocess.h"
#include "model/clip_model.h"
#include "test_util.h"

using namespace clipdex;
namespace fs = std::filesystem;

namespace {

double rel_error(const float* a, const float* g, int64_t d) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < d; ++i) num += (double(a[i]) - g[i]) * (double(a[i]) - g[i]), den += double(g[i]) * g[i];
  return std::sqrt(num / den);
}

void expect_rows(const std::vector<float>& mine, const std::vector<float>& golden, int64_t d, double tol, const std::string& what) {
  ASSERT_EQ(mine.size(), golden.size()) << what;
  for (size_t r = 0; r < golden.size() / static_cast<size_t>(d); ++r) {
    const double e = rel_error(&mine[r * d], &golden[r * d], d);
    EXPECT_LE(e, tol) << what << " row " << r;
    std::cout << "[ parity ] " << what << " row " << r << ": relative error " << e << "\n";
  }
}

std::string fixture(const std::string& rel) { return test::shared_path("fixtures/multilingual/" + rel); }

}  // namespace

TEST(Multilingual, MclipTextEmbeddingsMatchTheReference) {
  const auto m = model::Model::load(fixture("mclip-xlmr-tiny"));
  EXPECT_FALSE(m->has_image_tower());
  EXPECT_EQ(m->embed_dim(), 64);
  const auto g = SafeTensors::open(fixture("mclip-xlmr-tiny/golden.safetensors"));
  const auto ids = g.get("text_ids").to_i32();
  const int64_t n = g.get("text_ids").shape[0], len = g.get("text_ids").shape[1];
  expect_rows(m->encode_texts(ids.data(), n, len), g.get("text_embeds").to_f32(), 64, 1e-4, "M-CLIP text");
  // Each text alone (no padding) gives the same embedding as in the padded batch.
  const auto batch = m->encode_texts(ids.data(), n, len);
  for (int64_t r = 0; r < n; ++r) {
    std::vector<int32_t> row(ids.begin() + r * len, ids.begin() + (r + 1) * len);
    while (!row.empty() && row.back() == 1) row.pop_back();
    const auto single = m->encode_texts(row.data(), 1, static_cast<int64_t>(row.size()));
    EXPECT_LE(rel_error(single.data(), batch.data() + r * 64, 64), 1e-6) << "row " << r;
  }
  EXPECT_THROW(m->encode_images(std::vector<float>(3 * 224 * 224).data(), 1), InputError);
}

TEST(Multilingual, OpenClipXlmrTextAndImageEmbeddingsMatchTheReference) {
  const auto m = model::Model::load(fixture("xlmr-vit-tiny"));
  EXPECT_TRUE(m->has_image_tower());
  const auto g = SafeTensors::open(fixture("xlmr-vit-tiny/golden.safetensors"));
  const auto ids = g.get("text_ids").to_i32();
  const auto txt = m->encode_texts(ids.data(), 8, 77);
  expect_rows(txt, g.get("text_embeds").to_f32(), 64, 1e-4, "open_clip XLM-R text");
  const auto px = g.get("random_pixels").to_f32();
  const auto img = m->encode_images(px.data(), 2);
  expect_rows(img, g.get("random_pixels_embeds").to_f32(), 64, 1e-4, "open_clip XLM-R image");
  for (const auto& f : test::fixture_image_files()) {
    const std::string stem = fs::path(f).stem().string();
    const auto pixels = image::preprocess(image::decode_image_file(test::shared_path("fixtures/images/" + f)), m->preprocess_config());
    expect_rows(m->encode_images(pixels.data(), 1), g.get("image_" + stem + "_embeds").to_f32(), 64, 2e-3, "image " + stem);
  }
  const auto logits = g.get("logits_per_image").to_f32();
  for (int i = 0; i < 2; ++i)
    for (int t = 0; t < 8; ++t) {
      double ab = 0, aa = 0, bb = 0;
      for (int k = 0; k < 64; ++k) ab += double(img[i * 64 + k]) * txt[t * 64 + k], aa += double(img[i * 64 + k]) * img[i * 64 + k], bb += double(txt[t * 64 + k]) * txt[t * 64 + k];
      EXPECT_NEAR(m->logit_scale() * ab / std::sqrt(aa * bb), logits[i * 8 + t], 1e-3 * std::max(1.0, std::abs(double(logits[i * 8 + t]))));
    }
}

namespace {

std::vector<std::vector<float>> embed_texts_cli(const std::string& args, const std::vector<std::string>& texts) {
  std::string input;
  for (const auto& t : texts) input += nlohmann::json{{"text", t}}.dump() + "\n";
  const auto r = test::run_cli("embed " + args, input);
  EXPECT_EQ(r.exit_code, 0) << args;
  std::vector<std::vector<float>> out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line)["embedding"].get<std::vector<float>>());
  return out;
}

std::vector<std::string> golden_texts(const SafeTensors& g) {
  return nlohmann::json::parse(g.metadata().at("texts")).get<std::vector<std::string>>();
}

}  // namespace

TEST(Multilingual, EmbedFromTextMatchesTheReferenceThroughTheTokenizers) {
  // M-CLIP alone (texts only; its tokenizer from its folder) and open_clip's XLM-R CLIP, whose
  // text is cleaned first (ftfy, HTML entities, whitespace, no lower-casing; one text is cut at 77).
  for (const char* name : {"mclip-xlmr-tiny", "xlmr-vit-tiny"}) {
    const auto g = SafeTensors::open(fixture(std::string(name) + "/golden.safetensors"));
    const auto texts = golden_texts(g);
    const auto out = embed_texts_cli("--model " + fixture(name), texts);
    ASSERT_EQ(out.size(), texts.size()) << name;
    const auto golden = g.get("text_embeds").to_f32();
    for (size_t i = 0; i < texts.size(); ++i)
      EXPECT_LE(rel_error(out[i].data(), golden.data() + i * 64, 64), 1e-4) << name << ": " << texts[i];
  }
  // An image through a text-only model is a clear per-line error.
  const auto r = test::run_cli("embed --model " + fixture("mclip-xlmr-tiny"),
                               "{\"image\": \"" + test::shared_path("fixtures/images/coffee.png") + "\"}\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("text-only model"), std::string::npos) << r.out;
}

TEST(Multilingual, SearchInThreeScriptsWithMclipPairedToVitTiny) {
  // Index the fixture images with vit-tiny's image tower and M-CLIP's text tower; a query in
  // English, Russian and Japanese ranks the images as brute force over the golden embeddings.
  const std::string dir = test::scratch_dir("mclip-search");
  const std::string db = dir + "/lib.db";
  const std::string images = test::shared_path("fixtures/images");
  // (No --vocab: the text tower's tokenizer comes from the M-CLIP folder.)
  ASSERT_EQ(test::run_cli("index " + images + " --quiet --db " + db + " --model " + test::shared_path("fixtures/models/vit-tiny") +
                          " --text-model " + fixture("mclip-xlmr-tiny"))
                .exit_code,
            0);
  const auto texts_g = SafeTensors::open(fixture("mclip-xlmr-tiny/golden.safetensors"));
  const auto images_g = SafeTensors::open(test::shared_path("fixtures/models/vit-tiny/golden.safetensors"));
  const auto texts = golden_texts(texts_g);
  const auto text_embeds = texts_g.get("text_embeds").to_f32();
  auto cosine = [](const float* a, const std::vector<float>& b) {
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < b.size(); ++i) ab += double(a[i]) * b[i], aa += double(a[i]) * a[i], bb += double(b[i]) * b[i];
    return ab / std::sqrt(aa * bb);
  };
  for (size_t q : {size_t{0}, size_t{2}, size_t{4}}) {  // "A dog runs ...", "Собака ...", "犬が..."
    std::vector<std::pair<double, std::string>> brute;
    for (const auto& f : test::fixture_image_files()) {
      const std::string stem = fs::path(f).stem().string();
      brute.push_back({cosine(text_embeds.data() + q * 64, images_g.get("image_" + stem + "_embeds").to_f32()), stem});
    }
    std::sort(brute.rbegin(), brute.rend());
    const auto r = test::run_cli("search --db " + db + " --json -k 8 '" + texts[q] + "'");
    ASSERT_EQ(r.exit_code, 0) << texts[q];
    const auto hits = nlohmann::json::parse(r.out)["results"];
    ASSERT_EQ(hits.size(), brute.size()) << texts[q];
    for (size_t i = 0; i < brute.size(); ++i) {
      EXPECT_EQ(fs::path(hits[i]["path"].get<std::string>()).stem().string(), brute[i].second) << texts[q] << " rank " << i;
      EXPECT_NEAR(hits[i]["score"].get<double>(), brute[i].first, 2e-3) << texts[q] << " rank " << i;
    }
  }
  // The library remembers the pair; another text model (or none) is refused, not mixed in.
  EXPECT_EQ(test::run_cli("search --db " + db + " --json -k 1 --text-model '' dog 2>/dev/null").exit_code, 0);
  EXPECT_EQ(test::run_cli("search --db " + db + " -k 1 --model " + test::shared_path("fixtures/models/vit-tiny") +
                          " --text-model " + fixture("xlmr-vit-tiny") + " dog 2>/dev/null")
                .exit_code,
            2);
}
