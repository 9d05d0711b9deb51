#include "train/trainer.h"

#include <cmath>
#include <map>

#include <cblas.h>
#include <fmt/format.h>

#include "core/error.h"
#include "train/clip_loss.h"

namespace clipdex::train {

std::map<std::string, std::pair<int64_t, int64_t>> LoraTrainer::module_shapes(const model::ModelConfig& cfg) {
  std::map<std::string, std::pair<int64_t, int64_t>> shapes;
  TrainableTransformer::module_shapes("vision_model", cfg.vision.width, cfg.vision.layers, cfg.vision.mlp_width, shapes);
  TrainableTransformer::module_shapes("text_model", cfg.text.width, cfg.text.layers, cfg.text.mlp_width, shapes);
  return shapes;
}

LoraTrainer::LoraTrainer(model::ModelWeights weights, LoraSet lora) : lora_(std::move(lora)) {
  openblas_set_num_threads(1);  // the thread pool splits the products (train/linalg.cpp)
  config_ = weights.config;
  auto& ck = weights.checkpoint;
  std::map<std::string, bool> used;
  vision_ = VisionTrainer::load(ck, config_, lora_, used);
  text_ = TextTrainer::load(ck, config_, lora_, used);
  if (ck.has("logit_scale"))
    logit_scale_ = std::exp(static_cast<double>(
        ck.take("logit_scale", ck.shape("logit_scale").empty() ? std::vector<int64_t>{} : std::vector<int64_t>{1}).data.at(0)));
  for (const auto& [module, t] : lora_.modules())
    if (!used.count(module)) throw_input("the adapter's module {} is not a layer of this model", module);
}

double LoraTrainer::loss_and_gradients(const float* pixels, const int32_t* ids, int64_t n, int64_t context) {
  lora_.zero_grad();
  auto& vc = vision_cache_;
  auto& tc = text_cache_;
  const auto image = vision_.forward(pixels, n, vc);
  const auto text = text_.forward(ids, n, context, tc);
  std::vector<float> d_image, d_text;
  const double loss = clip_loss(image, text, n, config_.embed_dim, logit_scale_, d_image, d_text);
  if (!std::isfinite(loss)) throw InputError("the loss is not a number: the adapter diverged (lower --lr)");
  text_.backward(d_text.data(), n, tc);
  vision_.backward(d_image.data(), n, vc);
  return loss;
}

void LoraTrainer::update(const AdamW& optimizer) {
  ++steps_;
  optimizer.step(lora_, steps_);
}

}  // namespace clipdex::train
