#pragma once
// The frozen layers of a CLIP tower with their backward passes, for LoRA training: each forward
// keeps what its backward needs in a cache the caller owns; gradients flow to the inputs and to
// the LoRA tensors only (the base weights never change). fp32 throughout.
#include <cstdint>
#include <vector>

#include "train/lora_set.h"

namespace clipdex::train {

// A LoRA pair on a block of a linear layer's output rows: y[:, row0 : row0 + out] += s * B (A x).
struct LoraSite {
  LoraTensor* tensor = nullptr;
  float scale = 1.0f;
  int64_t row0 = 0;
};

struct FrozenLinear {
  std::vector<float> weight;  // [out, in]
  std::vector<float> bias;    // [out] or empty
  int64_t out = 0, in = 0;
  std::vector<LoraSite> lora;

  struct Cache {
    std::vector<std::vector<float>> ax;  // per site: A x, [rows, rank]
  };
  // y [rows, out] = x W^T + b (+ LoRA).
  void forward(const float* x, int64_t rows, float* y, Cache& cache) const;
  // dx [rows, in] = dy W_eff (dx ignored when null); adds to the LoRA gradients.
  void backward(const float* x, const float* dy, int64_t rows, const Cache& cache, float* dx) const;
};

struct LayerNormWeights {
  std::vector<float> gamma, beta;
  float eps = 1e-5f;

  struct Cache {
    std::vector<float> xhat, rstd;  // [rows, dim], [rows]
  };
  void forward(const float* x, int64_t rows, float* y, Cache& cache) const;
  // dx = d/dx of the layer norm applied to dy (gamma and beta are frozen).
  void backward(const float* dy, int64_t rows, const Cache& cache, float* dx) const;
};

// Variable-length sequences packed row after row: offsets[s] .. offsets[s + 1].
struct Sequences {
  std::vector<int64_t> offsets{0};
  int64_t count() const { return static_cast<int64_t>(offsets.size()) - 1; }
  int64_t rows() const { return offsets.back(); }
  int64_t length(int64_t s) const { return offsets[s + 1] - offsets[s]; }
};

// A pre-LN residual attention block: x + attn(ln_1(x)), then + mlp(ln_2(x)).
struct Block {
  LayerNormWeights ln_1, ln_2;
  FrozenLinear in_proj, out_proj, fc, proj;  // in_proj: fused q, k, v rows
  int64_t width = 0, heads = 0;
  bool quick_gelu = true;

  // What the backward pass reads; kept between steps so its memory is reused.
  struct Cache {
    std::vector<float> x, h1, qkv, probs, attn, x2, h2, pre, act, branch;
    LayerNormWeights::Cache ln_1, ln_2;
    FrozenLinear::Cache in_proj, out_proj, fc, proj;
  };
  // Working memory of the backward pass, shared by all blocks of a tower.
  struct Scratch {
    std::vector<float> mid, dh, dln, dattn, dqkv;
  };
  // x [rows, width] in place.
  void forward(std::vector<float>& x, const Sequences& seqs, bool causal, Cache& cache) const;
  // dx: in, the gradient at the block's output; out, at its input.
  void backward(std::vector<float>& dx, const Sequences& seqs, const Cache& cache, Scratch& scratch) const;
};

}  // namespace clipdex::train
