#pragma once
// The three towers. Each is loaded once (immutable, shared by all threads) and encodes a batch;
// scratch memory is per call.
#include <memory>

#include "model/blocks.h"
#include "model/config.h"

namespace clipdex::model {

class ImageTower {
 public:
  virtual ~ImageTower() = default;
  // pixels: [n, 3, S, S] normalised; returns [n, embed_dim] raw projected features.
  virtual Tensor encode(Backend& be, const float* pixels, int64_t n) const = 0;
  // The same on pixels already in the backend's memory (Backend::upload): for timing the model
  // alone on a GPU. Towers that run on host memory only do not offer it.
  virtual Tensor encode_uploaded(Backend& be, View pixels, int64_t n) const;
};

std::unique_ptr<ImageTower> load_vit(Checkpoint& ck, Backend& be, const ModelConfig& cfg);
// ModifiedResNet runs on host memory (a CPU backend) only.
std::unique_ptr<ImageTower> load_resnet(Checkpoint& ck, HostBackend& be, const ModelConfig& cfg);

class TextTower {
 public:
  virtual ~TextTower() = default;
  // ids: [n, context] model input ids; returns [n, embed_dim] raw projected features.
  virtual Tensor encode(Backend& be, const int32_t* ids, int64_t n, int64_t context, bool full_context = false) const = 0;
};

// CLIP's text tower: features at each row's end-of-text token (its highest id). With
// `full_context` the transformer runs on all positions instead of stopping there (identical
// results thanks to the causal mask; kept for checking that claim).
class ClipTextTower : public TextTower {
 public:
  static std::unique_ptr<TextTower> load(Checkpoint& ck, Backend& be, const ModelConfig& cfg);
  Tensor encode(Backend& be, const int32_t* ids, int64_t n, int64_t context, bool full_context = false) const override;

 private:
  int64_t width_ = 0, vocab_ = 0, context_ = 0;
  Buffer token_embedding_, positional_embedding_;
  LinearWeights projection_;
  LayerNorm ln_final_;
  Transformer transformer_;
};

// The XLM-RoBERTa text tower of multilingual models (model/xlmr_tower.cpp): embeddings
// (word + position + token type 0, layer norm), post-LN encoder layers with exact GELU,
// attention and mean pooling over the non-pad tokens, then the model's projection head.
// It runs on host memory (a CPU backend) only.
std::unique_ptr<TextTower> load_xlmr_text(Checkpoint& ck, HostBackend& be, const ModelConfig& cfg);

}  // namespace clipdex::model
