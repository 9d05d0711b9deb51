#pragma once
// The trainable LoRA tensors of a fine-tuning run, named as PEFT names them for a Hugging Face
// CLIPModel ("vision_model.encoder.layers.0.self_attn.q_proj"), with their gradients and AdamW
// moments; read from and written as a PEFT adapter folder that peft and clipdex both load.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/lora_adapter.h"

namespace clipdex::train {

struct LoraTensor {
  int64_t rank = 0, in = 0, out = 0;
  std::vector<float> a, b;            // A [rank, in], B [out, rank]
  std::vector<float> grad_a, grad_b;  // same shapes, summed over a step
  std::vector<float> m_a, v_a, m_b, v_b;  // AdamW moments
};

// Modules one transformer layer offers to LoRA, by their last name component.
bool is_lora_target(const std::string& name);  // q_proj k_proj v_proj out_proj fc1 fc2

class LoraSet {
 public:
  // A new adapter: A as peft initialises it (kaiming-uniform, bound 1/sqrt(in)), B zero, for
  // every module whose last name component is in config.target_modules. `shapes` maps each
  // module the model has to its [out, in].
  static LoraSet fresh(const model::LoraConfig& config, const std::map<std::string, std::pair<int64_t, int64_t>>& shapes,
                       uint64_t seed);
  // Starts from a PEFT adapter folder (its config and tensors).
  static LoraSet from_adapter(const std::string& dir);

  const model::LoraConfig& config() const { return config_; }
  float scale() const;  // lora_alpha / r, or lora_alpha / sqrt(r) with rsLoRA
  std::map<std::string, LoraTensor>& modules() { return modules_; }
  const std::map<std::string, LoraTensor>& modules() const { return modules_; }
  LoraTensor* find(const std::string& module);

  void zero_grad();
  // Writes adapter_config.json + adapter_model.safetensors into `dir`, replacing it whole: a
  // crash leaves the old adapter or the new one, never a mix. `base_model` is recorded for peft.
  void save(const std::string& dir, const std::string& base_model) const;
  // PEFT's tensor name of a module's A or B.
  static std::string tensor_name(const std::string& module, char which);

 private:
  model::LoraConfig config_;
  std::map<std::string, LoraTensor> modules_;
};

}  // namespace clipdex::train
