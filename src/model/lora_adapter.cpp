#include "model/lora_adapter.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/tensor_file.h"

namespace clipdex::model {
namespace fs = std::filesystem;

std::vector<float> LoraWeights::delta() const {
  std::vector<float> d(static_cast<size_t>(out * in), 0.0f);
  for (int64_t o = 0; o < out; ++o)
    for (int64_t k = 0; k < rank; ++k) {
      const float bk = scale * b[static_cast<size_t>(o * rank + k)];
      const float* row = &a[static_cast<size_t>(k * in)];
      float* dst = &d[static_cast<size_t>(o * in)];
      for (int64_t i = 0; i < in; ++i) dst[i] += bk * row[i];
    }
  return d;
}

namespace {

LoraConfig read_config(const std::string& path) {
  const auto j = nlohmann::json::parse(read_file(path), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) throw_input("{}: not a JSON object", path);
  const auto get = [&](const char* key, auto fallback) {
    const auto it = j.find(key);
    return it == j.end() || it->is_null() ? fallback : it->template get<decltype(fallback)>();
  };
  try {
    if (get("peft_type", std::string("LORA")) != "LORA") throw_input("{}: not a LoRA adapter (peft_type {})", path, j["peft_type"].dump());
    if (get("use_dora", false)) throw_input("{}: DoRA adapters are not supported", path);
    if (get("bias", std::string("none")) != "none") throw_input("{}: adapters with trained biases are not supported (bias must be \"none\")", path);
    if (get("fan_in_fan_out", false)) throw_input("{}: fan_in_fan_out adapters (Conv1D layers) do not fit CLIP", path);
    if (!get("rank_pattern", nlohmann::json::object()).empty() || !get("alpha_pattern", nlohmann::json::object()).empty())
      throw_input("{}: per-module rank_pattern / alpha_pattern are not supported", path);
    LoraConfig c;
    c.r = get("r", int64_t{0});
    c.alpha = get("lora_alpha", 0.0);
    c.rslora = get("use_rslora", false);
    const auto targets = j.find("target_modules");
    if (targets != j.end() && targets->is_string()) c.target_modules = {targets->get<std::string>()};
    else if (targets != j.end() && targets->is_array()) c.target_modules = targets->get<std::vector<std::string>>();
    if (c.r <= 0) throw_input("{}: r must be a positive integer", path);
    return c;
  } catch (const nlohmann::json::exception& e) {
    throw_input("{}: {}", path, e.what());
  }
}

// "base_model.model.<module>.lora_A[.default].weight" -> (<module>, 'A')
bool split_name(const std::string& name, std::string& module, char& which) {
  static const std::string prefix = "base_model.model.";
  if (name.rfind(prefix, 0) != 0) return false;
  for (const char w : {'A', 'B'}) {
    for (const std::string& tail : {std::string(".lora_") + w + ".weight", std::string(".lora_") + w + ".default.weight"}) {
      if (name.size() > prefix.size() + tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0) {
        module = name.substr(prefix.size(), name.size() - prefix.size() - tail.size());
        which = w;
        return true;
      }
    }
  }
  return false;
}

}  // namespace

std::shared_ptr<const LoraAdapter> LoraAdapter::open(const std::string& dir) {
  const fs::path config_path = fs::path(dir) / "adapter_config.json";
  fs::path weights_path = fs::path(dir) / "adapter_model.safetensors";
  if (!fs::exists(weights_path) && fs::exists(fs::path(dir) / "adapter_model.bin")) weights_path = fs::path(dir) / "adapter_model.bin";
  if (!fs::is_directory(dir)) throw_input("adapter '{}' is not a folder (expected adapter_config.json + adapter_model.safetensors)", dir);
  if (!fs::exists(config_path)) throw_input("adapter '{}' has no adapter_config.json", dir);
  if (!fs::exists(weights_path)) throw_input("adapter '{}' has no adapter_model.safetensors", dir);

  auto adapter = std::make_shared<LoraAdapter>();
  LoraAdapter& a = *adapter;
  a.dir_ = dir;
  a.config_ = read_config(config_path.string());
  a.hash_ = fmt::format("{:016x}{:016x}", hash_file(config_path.string()), hash_file(weights_path.string()));
  const float scale = static_cast<float>(a.config_.rslora ? a.config_.alpha / std::sqrt(static_cast<double>(a.config_.r))
                                                          : a.config_.alpha / static_cast<double>(a.config_.r));
  const TensorFile file = TensorFile::open(weights_path.string());
  for (const auto& [name, view] : file.tensors()) {
    std::string module;
    char which = 0;
    if (!split_name(name, module, which)) throw_input("{}: '{}' is not a LoRA tensor (base_model.model.*.lora_A/B.weight)", weights_path.string(), name);
    const std::string last = module.substr(module.rfind('.') + 1);
    const auto& targets = a.config_.target_modules;
    if (!targets.empty() && std::find(targets.begin(), targets.end(), last) == targets.end())
      throw_input("{}: module '{}' is not among target_modules [{}]", weights_path.string(), module, fmt::join(targets, ", "));
    if (view.shape.size() != 2) throw_input("{}: '{}' must be 2-D", weights_path.string(), name);
    auto& w = a.modules_[module];
    w.scale = scale;
    if (which == 'A') {
      w.rank = view.shape[0];
      w.in = view.shape[1];
      w.a = view.to_f32();
    } else {
      w.out = view.shape[0];
      if (w.rank && view.shape[1] != w.rank) throw_input("{}: '{}' has rank {}, lora_A has {}", weights_path.string(), name, view.shape[1], w.rank);
      w.rank = view.shape[1];
      w.b = view.to_f32();
    }
  }
  if (a.modules_.empty()) throw_input("{}: no LoRA tensors", weights_path.string());
  for (const auto& [module, w] : a.modules_) {
    if (w.a.empty() || w.b.empty()) throw_input("{}: module '{}' lacks lora_{}", weights_path.string(), module, w.a.empty() ? 'A' : 'B');
    if (static_cast<int64_t>(w.a.size()) != w.rank * w.in || static_cast<int64_t>(w.b.size()) != w.out * w.rank)
      throw_input("{}: module '{}': lora_A and lora_B shapes disagree", weights_path.string(), module);
    if (w.rank != a.config_.r) throw_input("{}: module '{}' has rank {}, adapter_config.json says r = {}", weights_path.string(), module, w.rank, a.config_.r);
  }
  return adapter;
}

const LoraWeights* LoraAdapter::find(const std::string& module) const {
  const auto it = modules_.find(module);
  if (it == modules_.end()) return nullptr;
  std::lock_guard lock(mu_);
  used_.insert(module);
  return &it->second;
}

void LoraAdapter::check_all_used() const {
  std::vector<std::string> unused;
  std::lock_guard lock(mu_);
  for (const auto& [module, w] : modules_)
    if (!used_.count(module)) unused.push_back(module);
  if (unused.empty()) return;
  if (unused.size() > 5) unused.resize(5), unused.push_back("...");
  throw_input("adapter {} targets modules this model does not have: {}", dir_, fmt::join(unused, ", "));
}

}  // namespace clipdex::model
