#pragma once
// One LoRA training step on a CLIP model: both towers forward with caches, CLIP's contrastive
// loss, both towers backward into the LoRA gradients, then AdamW. The base weights are read once
// (fp32) and never change.
#include <cstdint>
#include <string>

#include "model/clip_model.h"
#include "train/adamw.h"
#include "train/lora_set.h"
#include "train/towers.h"

namespace clipdex::train {

class LoraTrainer {
 public:
  // Takes the model's opened weights (model::open_weights); `lora` must name only modules the
  // model has (InputError otherwise).
  LoraTrainer(model::ModelWeights weights, LoraSet lora);

  // The [out, in] of every module LoRA can target in this model, by Hugging Face name.
  static std::map<std::string, std::pair<int64_t, int64_t>> module_shapes(const model::ModelConfig& cfg);

  // The batch's loss; its gradients replace those in lora() (pixels [n, 3, S, S], ids [n, context]).
  double loss_and_gradients(const float* pixels, const int32_t* ids, int64_t n, int64_t context);
  // Applies the gradients: optimizer step number steps_done() + 1.
  void update(const AdamW& optimizer);

  LoraSet& lora() { return lora_; }
  const model::ModelConfig& config() const { return config_; }
  double logit_scale() const { return logit_scale_; }
  int64_t steps_done() const { return steps_; }
  void set_steps_done(int64_t steps) { steps_ = steps; }

 private:
  model::ModelConfig config_;
  LoraSet lora_;
  VisionTrainer vision_;
  TextTrainer text_;
  double logit_scale_ = 100.0;
  int64_t steps_ = 0;
  VisionTrainer::Cache vision_cache_;  // activations, reused step after step
  TextTrainer::Cache text_cache_;
};

}  // namespace clipdex::train
