#include "train/lora_set.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/safetensors.h"

namespace clipdex::train {
namespace {

namespace fs = std::filesystem;

std::string last_component(const std::string& module) { return module.substr(module.rfind('.') + 1); }

void size_state(LoraTensor& t) {
  t.grad_a.assign(t.a.size(), 0.0f);
  t.grad_b.assign(t.b.size(), 0.0f);
  t.m_a.assign(t.a.size(), 0.0f);
  t.v_a.assign(t.a.size(), 0.0f);
  t.m_b.assign(t.b.size(), 0.0f);
  t.v_b.assign(t.b.size(), 0.0f);
}

}  // namespace

bool is_lora_target(const std::string& name) {
  return name == "q_proj" || name == "k_proj" || name == "v_proj" || name == "out_proj" || name == "fc1" || name == "fc2";
}

LoraSet LoraSet::fresh(const model::LoraConfig& config, const std::map<std::string, std::pair<int64_t, int64_t>>& shapes,
                       uint64_t seed) {
  if (config.r < 1 || config.r > 1024) throw_input("--rank must be from 1 to 1024, not {}", config.r);
  if (!(config.alpha > 0)) throw InputError("--alpha must be positive");
  if (config.target_modules.empty()) throw InputError("give at least one target module (--targets q_proj,v_proj)");
  for (const auto& t : config.target_modules)
    if (!is_lora_target(t))
      throw_input("'{}' is not a module clipdex trains (q_proj, k_proj, v_proj, out_proj, fc1, fc2)", t);
  LoraSet s;
  s.config_ = config;
  std::mt19937_64 rng(seed);
  for (const auto& [module, shape] : shapes) {
    const auto& targets = config.target_modules;
    if (std::find(targets.begin(), targets.end(), last_component(module)) == targets.end()) continue;
    LoraTensor t;
    t.rank = config.r;
    t.out = shape.first;
    t.in = shape.second;
    // peft: kaiming_uniform_(A, a=sqrt(5)), i.e. U(-1/sqrt(in), 1/sqrt(in)); B = 0, so training
    // starts from the base model exactly.
    const float bound = 1.0f / std::sqrt(static_cast<float>(t.in));
    std::uniform_real_distribution<float> u(-bound, bound);
    t.a.resize(static_cast<size_t>(t.rank * t.in));
    for (auto& v : t.a) v = u(rng);
    t.b.assign(static_cast<size_t>(t.out * t.rank), 0.0f);
    size_state(t);
    s.modules_.emplace(module, std::move(t));
  }
  if (s.modules_.empty()) throw InputError("the target modules match no layer of this model");
  return s;
}

LoraSet LoraSet::from_adapter(const std::string& dir) {
  const auto adapter = model::LoraAdapter::open(dir);
  LoraSet s;
  s.config_ = adapter->config();
  for (const auto& t : s.config_.target_modules)
    if (!is_lora_target(t)) throw_input("{}: clipdex trains q_proj, k_proj, v_proj, out_proj, fc1, fc2, not '{}'", dir, t);
  for (const auto& [module, w] : adapter->modules()) {
    LoraTensor t;
    t.rank = w.rank;
    t.in = w.in;
    t.out = w.out;
    t.a = w.a;
    t.b = w.b;
    size_state(t);
    s.modules_.emplace(module, std::move(t));
  }
  return s;
}

float LoraSet::scale() const {
  return static_cast<float>(config_.rslora ? config_.alpha / std::sqrt(static_cast<double>(config_.r))
                                           : config_.alpha / static_cast<double>(config_.r));
}

LoraTensor* LoraSet::find(const std::string& module) {
  auto it = modules_.find(module);
  return it == modules_.end() ? nullptr : &it->second;
}

void LoraSet::zero_grad() {
  for (auto& [name, t] : modules_) {
    std::fill(t.grad_a.begin(), t.grad_a.end(), 0.0f);
    std::fill(t.grad_b.begin(), t.grad_b.end(), 0.0f);
  }
}

std::string LoraSet::tensor_name(const std::string& module, char which) {
  return fmt::format("base_model.model.{}.lora_{}.weight", module, which);
}

void LoraSet::save(const std::string& dir, const std::string& base_model) const {
  // The fields peft 0.10's LoraConfig reads (an unknown key would make older peft refuse it).
  const nlohmann::ordered_json config = {
      {"alpha_pattern", nlohmann::json::object()},
      {"auto_mapping", {{"base_model_class", "CLIPModel"}, {"parent_library", "transformers.models.clip.modeling_clip"}}},
      {"base_model_name_or_path", base_model},
      {"bias", "none"},
      {"fan_in_fan_out", false},
      {"inference_mode", true},
      {"init_lora_weights", true},
      {"layer_replication", nullptr},
      {"layers_pattern", nullptr},
      {"layers_to_transform", nullptr},
      {"loftq_config", nlohmann::json::object()},
      {"lora_alpha", config_.alpha},
      {"lora_dropout", 0.0},
      {"megatron_config", nullptr},
      {"megatron_core", "megatron.core"},
      {"modules_to_save", nullptr},
      {"peft_type", "LORA"},
      {"r", config_.r},
      {"rank_pattern", nlohmann::json::object()},
      {"revision", nullptr},
      {"target_modules", config_.target_modules},
      {"task_type", nullptr},
      {"use_dora", false},
      {"use_rslora", config_.rslora},
  };
  std::map<std::string, TensorData> tensors;
  for (const auto& [module, t] : modules_) {
    tensors.emplace(tensor_name(module, 'A'), make_f32_tensor({t.rank, t.in}, t.a));
    tensors.emplace(tensor_name(module, 'B'), make_f32_tensor({t.out, t.rank}, t.b));
  }
  // Both files go into a fresh folder that then replaces `dir` by renames.
  const fs::path out = fs::absolute(dir).lexically_normal();
  const fs::path parent = out.parent_path();
  fs::create_directories(parent);
  const fs::path tmp = parent / fmt::format(".{}.writing-{}", out.filename().string(), ::getpid());
  const fs::path old = parent / fmt::format(".{}.old-{}", out.filename().string(), ::getpid());
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  write_file_atomic((tmp / "adapter_config.json").string(), config.dump(2) + "\n");
  write_safetensors((tmp / "adapter_model.safetensors").string(), tensors, {{"format", "pt"}});
  std::error_code ec;
  const bool had_old = fs::exists(out);
  if (had_old) {
    fs::remove_all(old, ec);
    fs::rename(out, old, ec);
    if (ec) throw_io("cannot replace {}: {}", out.string(), ec.message());
  }
  fs::rename(tmp, out, ec);
  if (ec) {
    if (had_old) fs::rename(old, out);
    throw_io("cannot write {}: {}", out.string(), ec.message());
  }
  if (had_old) fs::remove_all(old, ec);
}

}  // namespace clipdex::train
