// clipdex embed --model PATH: JSON lines {"text": ...} or {"image": FILE} in, one
// {"embedding": [...]} per line out (raw projected features; --normalize for unit vectors).
// Lines are embedded in batches; a bad line gets {"error": ...} and the rest go on.
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/json_lines.h"
#include "cli/model_options.h"
#include "core/error.h"
#include "pipeline/image_loader.h"

namespace clipdex::cli {
namespace {

constexpr size_t kBatchLines = 32;

struct Pending {
  nlohmann::json result;  // error object, or filled with the embedding
  bool is_text = false, is_image = false;
  std::string value;
};

void flush(std::vector<Pending>& batch, const pipeline::Embedder& emb, bool normalize, int& failures) {
  const size_t d = static_cast<size_t>(emb.dim());
  std::vector<std::string> texts;
  std::vector<float> pixels;
  std::vector<size_t> text_rows, image_rows;
  const auto& cfg = emb.model().preprocess_config();
  std::vector<std::string> image_paths;
  std::vector<size_t> image_lines;
  for (size_t i = 0; i < batch.size(); ++i) {
    auto& p = batch[i];
    try {
      if (p.is_text) {
        emb.text_input().check(p.value);  // validate now
        texts.push_back(p.value);
        text_rows.push_back(i);
      } else if (p.is_image) {
        if (!emb.model().has_image_tower())
          throw InputError("this is a text-only model (M-CLIP): embed images with its image model");
        image_paths.push_back(p.value);
        image_lines.push_back(i);
      }
    } catch (const std::exception& e) {
      p.result = {{"error", e.what()}};
      ++failures;
    }
  }
  // Images decode on worker threads (as `index` and the library API do); rows keep line order.
  std::vector<pipeline::LoadedImage> loaded(image_paths.size());
  pipeline::LoaderOptions lo;
  lo.batch_size = kBatchLines;
  lo.decode = emb.decode_options();
  pipeline::load_images(image_paths, cfg, lo, [&](std::vector<pipeline::LoadedImage>& done) {
    for (auto& item : done) loaded[item.index] = std::move(item);
  });
  for (size_t j = 0; j < loaded.size(); ++j) {
    if (!loaded[j].error.empty()) {
      batch[image_lines[j]].result = {{"error", loaded[j].error}};
      ++failures;
      continue;
    }
    pixels.insert(pixels.end(), loaded[j].pixels.begin(), loaded[j].pixels.end());
    image_rows.push_back(image_lines[j]);
  }
  auto put = [&](const std::vector<float>& v, const std::vector<size_t>& rows) {
    for (size_t r = 0; r < rows.size(); ++r)
      batch[rows[r]].result = {{"embedding", std::vector<float>(v.begin() + r * d, v.begin() + (r + 1) * d)}};
  };
  if (!texts.empty()) put(emb.embed_texts(texts, normalize), text_rows);
  if (!image_rows.empty()) put(emb.embed_pixels(pixels.data(), image_rows.size(), normalize), image_rows);
  for (const auto& p : batch)
    std::cout << to_json_line(p.result) << '\n';
  std::cout.flush();
  batch.clear();
}

}  // namespace

void register_embed(CLI::App& app) {
  struct Options {
    ModelOptions model;
    bool normalize = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("embed", "Embed JSON lines {\"text\": ...} / {\"image\": FILE} from stdin");
  o->model.add_to(cmd);
  cmd->add_flag("--normalize", o->normalize, "Write unit-length vectors");
  cmd->callback([o] {
    const auto emb = o->model.open();
    int failures = 0;
    std::vector<Pending> batch;
    std::string line;
    size_t lineno = 0;
    while (std::getline(std::cin, line)) {
      ++lineno;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      Pending p;
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) {
        p.result = {{"error", "line " + std::to_string(lineno) + " is not a JSON object"}};
        ++failures;
      } else if (j.contains("text") && j["text"].is_string()) {
        p.is_text = true;
        p.value = j["text"].get<std::string>();
      } else if (j.contains("image") && j["image"].is_string()) {
        p.is_image = true;
        p.value = j["image"].get<std::string>();
      } else {
        p.result = {{"error", "expected {\"text\": string} or {\"image\": path}"}};
        ++failures;
      }
      batch.push_back(std::move(p));
      if (batch.size() == kBatchLines) flush(batch, *emb, o->normalize, failures);
    }
    flush(batch, *emb, o->normalize, failures);
    if (failures) throw PartialFailure(fmt::format("{} input line(s) failed", failures));
  });
}

}  // namespace clipdex::cli
