#pragma once
// A PEFT LoRA adapter (adapter_config.json + adapter_model.safetensors), merged into a model's
// weights as they load: W' = W + s * B @ A, s = lora_alpha / r (lora_alpha / sqrt(r) with
// use_rslora). Modules are named as in Hugging Face's CLIPModel ("text_model.encoder.layers.0.
// self_attn.q_proj"); an open_clip / OpenAI checkpoint gets the same names through the canonical
// mapping (q/k/v are row blocks of the fused in_proj_weight, fc1/fc2 are mlp.c_fc/c_proj,
// out_proj is attn.out_proj, the projections are transposed) — docs/LORA.md.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace clipdex::model {

struct LoraWeights {
  int64_t rank = 0, in = 0, out = 0;
  std::vector<float> a;  // [rank, in]
  std::vector<float> b;  // [out, rank]
  float scale = 1.0f;
  // s * B @ A as [out, in], row-major.
  std::vector<float> delta() const;
};

struct LoraConfig {
  int64_t r = 0;
  double alpha = 0;
  bool rslora = false;
  std::vector<std::string> target_modules;
};

class LoraAdapter {
 public:
  // Reads a PEFT adapter folder. Throws InputError naming what is wrong (a missing file, an
  // unsupported option such as DoRA or trained biases, shapes that disagree with r).
  static std::shared_ptr<const LoraAdapter> open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const LoraConfig& config() const { return config_; }
  const std::string& hash() const { return hash_; }  // of both files: part of the model id
  const std::map<std::string, LoraWeights>& modules() const { return modules_; }

  // The weights for a module path, or nullptr; marks the module as used.
  const LoraWeights* find(const std::string& module) const;
  // Throws InputError naming adapter modules that no model tensor matched.
  void check_all_used() const;

 private:
  std::string dir_, hash_;
  LoraConfig config_;
  std::map<std::string, LoraWeights> modules_;
  mutable std::mutex mu_;
  mutable std::set<std::string> used_;
};

}  // namespace clipdex::model
