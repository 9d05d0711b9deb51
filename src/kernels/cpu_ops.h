#pragma once
// The ops every CPU backend shares (layer norm, attention, attention pooling), whatever runs
// its linear layers; and the element-wise helpers they use.
#include "kernels/backend.h"

namespace clipdex::kernels {

class CpuOpsBackend : public Backend {
 public:
  CpuOpsBackend();
  void layer_norm(const float* x, int64_t rows, int64_t dim, const float* gamma, const float* beta, float eps,
                  float* y) override;
  void attention(const float* qkv, const SequenceLayout& seqs, int64_t width, int64_t heads, bool causal,
                 float* out) override;
  void attention_single_query(const float* q, const float* kv, const SequenceLayout& seqs, int64_t width,
                              int64_t heads, float* out) override;
};

// row[0, n) = softmax(row), in place.
void softmax_row(float* row, int64_t n);

// y[m, n] = x[m, k] · w[n, k]ᵀ (+ y when accumulate), single-threaded OpenBLAS.
void sgemm_nt(const float* x, int64_t m, int64_t k, const float* w, int64_t n, float* y, int64_t ldy, bool accumulate);

// The portable fp32 linear layer (OpenBLAS inside pool tasks): the fallback of every backend.
void blas_linear(const float* x, int64_t m, const LinearWeights& w, float* y, Activation act);

}  // namespace clipdex::kernels
