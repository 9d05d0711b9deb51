#include "search/zeroshot.h"

#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/paths.h"
#include "core/mapped_file.h"
#include "core/safetensors.h"

namespace clipdex::search {
namespace {

namespace fs = std::filesystem;

std::string fill_template(std::string t, const std::string& name) {
  for (size_t pos; (pos = t.find("{}")) != std::string::npos;) t.replace(pos, 2, name);
  return t;
}

std::vector<std::string> parse_templates(const std::string& file) {
  const std::string text = read_file(file);
  auto j = nlohmann::json::parse(text, nullptr, false);
  std::vector<std::string> out;
  if (!j.is_discarded() && j.is_array()) {
    for (const auto& t : j) {
      if (!t.is_string()) throw_input("{}: templates must be strings", file);
      out.push_back(t.get<std::string>());
    }
  } else if (!j.is_discarded() && j.is_object() && j.contains("templates")) {
    out = j["templates"].get<std::vector<std::string>>();
  } else {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) out.push_back(line);
  }
  if (out.empty()) throw_input("{}: no templates", file);
  return out;
}

}  // namespace

PromptSet load_prompt_set(const std::string& file, const std::string& dataset) {
  auto j = nlohmann::json::parse(read_file(file), nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw_input("{}: not a JSON object of prompt sets", file);
  auto it = j.find(dataset);
  if (it == j.end()) {
    std::vector<std::string> names;
    for (const auto& [k, v] : j.items()) names.push_back(k);
    throw_input("{}: no prompt set '{}' (there are: {})", file, dataset, fmt::join(names, ", "));
  }
  PromptSet p;
  try {
    for (const auto& c : (*it)["classes"]) {
      if (c.is_string()) p.classes.push_back({c.get<std::string>()});
      else p.classes.push_back(c.get<std::vector<std::string>>());
      if (p.classes.back().empty()) throw_input("{}: an empty class in '{}'", file, dataset);
    }
    p.templates = (*it)["templates"].get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    throw_input("{}: prompt set '{}' is malformed: {}", file, dataset, e.what());
  }
  if (p.classes.empty() || p.templates.empty()) throw_input("{}: prompt set '{}' has no classes or templates", file, dataset);
  return p;
}

PromptSet load_named_prompt_set(const std::string& dataset, const std::string& file) {
  std::string path = file;
  if (path.empty() && std::getenv("CLIPDEX_PROMPTS_FILE")) path = std::getenv("CLIPDEX_PROMPTS_FILE");
  if (path.empty()) throw_input("prompt set '{}' needs --prompts-file FILE (or $CLIPDEX_PROMPTS_FILE)", dataset);
  return load_prompt_set(path, dataset);
}

PromptSet labels_prompt_set(const std::string& labels, const std::string& templates_file) {
  PromptSet p;
  std::istringstream in(labels);
  for (std::string label; std::getline(in, label, ',');) {
    label.erase(0, label.find_first_not_of(' '));
    label.erase(label.find_last_not_of(' ') + 1);
    if (!label.empty()) p.classes.push_back({label});
  }
  if (p.classes.size() < 2) throw_input("give at least two labels (comma-separated)");
  p.templates = templates_file.empty() ? std::vector<std::string>{"a photo of a {}."} : parse_templates(templates_file);
  return p;
}

ZeroShotClassifier::ZeroShotClassifier(const pipeline::Embedder& embedder, PromptSet prompts, const std::string& cache_dir)
    : embedder_(embedder), prompts_(std::move(prompts)) {
  nlohmann::json key = {{"model", embedder.model_id()}, {"classes", prompts_.classes}, {"templates", prompts_.templates}};
  const std::string k = key.dump();
  const std::string file = cache_dir.empty() ? "" : fmt::format("{}/zeroshot/{:016x}.safetensors", cache_dir, XXH3_64bits(k.data(), k.size()));
  if (!file.empty() && fs::exists(file)) {
    try {
      const auto st = SafeTensors::open(file);
      classes_ = st.get("classes").to_f32();
      if (classes_.size() == prompts_.classes.size() * static_cast<size_t>(embedder.dim())) return;
    } catch (const Error&) {
      // A broken cache entry is recomputed and replaced.
    }
  }
  classes_ = compute();
  if (!file.empty()) {
    std::error_code ec;
    fs::create_directories(fs::path(file).parent_path(), ec);
    if (!ec)
      write_safetensors(file, {{"classes", make_f32_tensor({static_cast<int64_t>(prompts_.classes.size()), embedder.dim()}, classes_)}});
  }
}

std::vector<float> ZeroShotClassifier::compute() const {
  const size_t d = static_cast<size_t>(embedder_.dim());
  std::vector<float> out;
  for (const auto& synonyms : prompts_.classes) {
    std::vector<std::string> texts;
    for (const auto& name : synonyms)
      for (const auto& t : prompts_.templates) texts.push_back(fill_template(t, name));
    const auto e = embedder_.embed_texts(texts, /*normalize=*/true);
    std::vector<float> mean(d, 0.0f);
    for (size_t i = 0; i < texts.size(); ++i)
      for (size_t j = 0; j < d; ++j) mean[j] += e[i * d + j];
    pipeline::normalize_rows(mean, d);
    out.insert(out.end(), mean.begin(), mean.end());
  }
  return out;
}

std::vector<Prediction> ZeroShotClassifier::classify(std::span<const float> image, size_t top) const {
  const size_t d = image.size(), c = num_classes();
  std::vector<Prediction> p(c);
  const float scale = embedder_.model().logit_scale();
  float mx = -1e30f;
  for (size_t i = 0; i < c; ++i) {
    float s = 0;
    for (size_t j = 0; j < d; ++j) s += image[j] * classes_[i * d + j];
    p[i] = {i, prompts_.classes[i].front(), 0, s};
    mx = std::max(mx, scale * s);
  }
  double sum = 0;
  for (auto& x : p) sum += std::exp(scale * x.score - mx);
  for (auto& x : p) x.probability = static_cast<float>(std::exp(scale * x.score - mx) / sum);
  std::stable_sort(p.begin(), p.end(), [](const auto& a, const auto& b) { return a.score > b.score; });
  p.resize(std::min(top, c));
  return p;
}

}  // namespace clipdex::search
