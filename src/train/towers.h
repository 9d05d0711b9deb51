#pragma once
// The ViT image tower and the CLIP text tower for LoRA training: the same computation as
// src/model's towers, fp32, with caches for the backward pass, which runs from the projected
// features down to the lowest layer that holds a LoRA tensor (nothing below it trains).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/checkpoint.h"
#include "model/config.h"
#include "train/layers.h"

namespace clipdex::train {

// A tower's transformer: blocks loaded from canonical names, LoRA sites attached by Hugging Face
// module names ("<hf_prefix>.encoder.layers.<i>.self_attn.q_proj").
struct TrainableTransformer {
  std::vector<Block> blocks;
  int64_t lowest_trained = -1;  // the lowest block with a LoRA site; -1: none

  static TrainableTransformer load(model::Checkpoint& ck, const std::string& prefix, const std::string& hf_prefix,
                                   int64_t width, int64_t layers, int64_t heads, int64_t mlp_width, bool quick_gelu,
                                   float eps, LoraSet& lora, std::map<std::string, bool>& used);
  // The [out, in] of every module LoRA may target, by Hugging Face name.
  static void module_shapes(const std::string& hf_prefix, int64_t width, int64_t layers, int64_t mlp_width,
                            std::map<std::string, std::pair<int64_t, int64_t>>& out);

  // caches: one per block, reused between calls (blocks below the lowest trained one share the
  // last slot's memory: nothing of theirs is needed later).
  void forward(std::vector<float>& x, const Sequences& seqs, bool causal, std::vector<Block::Cache>& caches) const;
  void backward(std::vector<float>& dx, const Sequences& seqs, const std::vector<Block::Cache>& caches,
                Block::Scratch& scratch) const;
};

class VisionTrainer {
 public:
  static VisionTrainer load(model::Checkpoint& ck, const model::ModelConfig& cfg, LoraSet& lora,
                            std::map<std::string, bool>& used);
  struct Cache {
    Sequences seqs;
    std::vector<Block::Cache> blocks;
    Block::Scratch scratch;
    LayerNormWeights::Cache ln_post;
    std::vector<float> pooled;
  };
  // pixels [n, 3, S, S] -> features [n, embed_dim].
  std::vector<float> forward(const float* pixels, int64_t n, Cache& cache) const;
  void backward(const float* d_features, int64_t n, Cache& cache) const;

 private:
  model::VisionConfig cfg_;
  int64_t embed_dim_ = 0;
  std::vector<float> patch_weight_;  // [width, 3 * p * p]
  std::vector<float> class_embedding_, positional_embedding_, proj_;  // proj [width, embed_dim]
  LayerNormWeights ln_pre_, ln_post_;
  TrainableTransformer transformer_;
};

class TextTrainer {
 public:
  static TextTrainer load(model::Checkpoint& ck, const model::ModelConfig& cfg, LoraSet& lora,
                          std::map<std::string, bool>& used);
  struct Cache {
    Sequences seqs;
    std::vector<int64_t> eot;
    std::vector<Block::Cache> blocks;
    Block::Scratch scratch;
    LayerNormWeights::Cache ln_final;
    std::vector<float> pooled;
  };
  // ids [n, context] (start, BPE, end, padding) -> features [n, embed_dim].
  std::vector<float> forward(const int32_t* ids, int64_t n, int64_t context, Cache& cache) const;
  void backward(const float* d_features, int64_t n, Cache& cache) const;

 private:
  model::TextConfig cfg_;
  int64_t embed_dim_ = 0;
  std::vector<float> token_embedding_, positional_embedding_, proj_;  // proj [width, embed_dim]
  LayerNormWeights ln_final_;
  TrainableTransformer transformer_;
};

}  // namespace clipdex::train
