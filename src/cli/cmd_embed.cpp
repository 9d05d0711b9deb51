// clipdex embed --model PATH: JSON lines {"text": ...} or {"image": FILE} in, one
// {"embedding": [...]} per line out (raw projected features; --normalize for unit vectors).
// Lines are embedded in batches; a bad line gets {"error": ...} and the rest go on.
#include <cmath>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/json_lines.h"
#include "cli/model_options.h"

namespace clipdex::cli {
namespace {

// Lines read before embedding: the model runs them 32 at a time, and files of the next batch
// decode while it does, so more lines per flush keep both busy.
constexpr size_t kBatchLines = 256;

struct Pending {
  std::string error;  // set: the line's result is {"error": ...}
  bool is_text = false, is_image = false;
  std::string value;
  std::span<const float> embedding;
};

// {"embedding":[...]} with each float's shortest exact form (fmt), which reads back bit-equal;
// a non-finite value (only broken weights make one) is null, as JSON has no NaN.
void print_embedding(std::string& out, std::span<const float> v) {
  out += "{\"embedding\":[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    if (std::isfinite(v[i])) fmt::format_to(std::back_inserter(out), "{}", v[i]);
    else out += "null";
  }
  out += "]}\n";
}

void flush(std::vector<Pending>& batch, const Model& model, bool normalize, int& failures) {
  const size_t d = static_cast<size_t>(model.dim());
  std::vector<std::string> texts, image_paths;
  std::vector<size_t> text_lines, image_lines;
  for (size_t i = 0; i < batch.size(); ++i) {
    auto& p = batch[i];
    try {
      if (p.is_text) {
        texts.push_back(p.value);
        text_lines.push_back(i);
      } else if (p.is_image) {
        if (!model.has_image_tower()) throw InputError("this is a text-only model (M-CLIP): embed images with its image model");
        image_paths.push_back(p.value);
        image_lines.push_back(i);
      }
    } catch (const std::exception& e) {
      p.error = e.what();
      ++failures;
    }
  }
  // Images decode on worker threads (as `index` does); rows keep line order.
  std::vector<std::string> errors;
  const auto image_vectors = model.embed_image_files(image_paths, normalize, errors);
  std::vector<float> text_vectors;
  try {
    text_vectors = model.embed_texts(texts, normalize);
  } catch (const InputError&) {
    // One bad line (invalid UTF-8) must not fail the others: find it, embed the rest.
    std::vector<std::string> good;
    std::vector<size_t> good_lines;
    for (size_t j = 0; j < texts.size(); ++j) {
      try {
        model.check_text(texts[j]);
        good.push_back(texts[j]);
        good_lines.push_back(text_lines[j]);
      } catch (const InputError& e) {
        batch[text_lines[j]].error = e.what();
        ++failures;
      }
    }
    text_vectors = model.embed_texts(good, normalize);
    text_lines = std::move(good_lines);
  }
  for (size_t j = 0; j < image_lines.size(); ++j) {
    auto& p = batch[image_lines[j]];
    if (!errors[j].empty()) {
      p.error = errors[j];
      ++failures;
    } else {
      p.embedding = std::span(image_vectors).subspan(j * d, d);
    }
  }
  for (size_t j = 0; j < text_lines.size(); ++j) batch[text_lines[j]].embedding = std::span(text_vectors).subspan(j * d, d);
  std::string out;
  for (const auto& p : batch) {
    if (p.error.empty()) print_embedding(out, p.embedding);
    else out += to_json_line({{"error", p.error}}) + '\n';
  }
  std::cout << out;
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
    const Model model = o->model.open();
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
        p.error = "line " + std::to_string(lineno) + " is not a JSON object";
        ++failures;
      } else if (j.contains("text") && j["text"].is_string()) {
        p.is_text = true;
        p.value = j["text"].get<std::string>();
      } else if (j.contains("image") && j["image"].is_string()) {
        p.is_image = true;
        p.value = j["image"].get<std::string>();
      } else {
        p.error = "expected {\"text\": string} or {\"image\": path}";
        ++failures;
      }
      batch.push_back(std::move(p));
      if (batch.size() == kBatchLines) flush(batch, model, o->normalize, failures);
    }
    flush(batch, model, o->normalize, failures);
    if (failures) throw PartialFailure(fmt::format("{} input line(s) failed", failures));
  });
}

}  // namespace clipdex::cli
