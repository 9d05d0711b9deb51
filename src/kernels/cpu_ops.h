#pragma once
// The ops every CPU backend shares (layer norm, attention, attention pooling), whatever runs
// its linear layers; and the element-wise helpers they use.
#include <algorithm>
#include <cstddef>

#include "kernels/backend.h"

namespace clipdex::kernels {

class CpuOpsBackend : public HostBackend {
 public:
  CpuOpsBackend();
  // Four images per pool thread, 8 to 32: on 2 cores a batch of 32 ran as fast in passes of 8
  // as in one (ViT-B/32, fp32, bf16 and int8, Zen 5) with 50-65 MB less peak RSS, and text
  // batches (max_batch) ran faster whole.
  int64_t image_batch() const override;
  int64_t thread_image_batch() const override;
  int64_t thread_text_batch() const override;
  void layer_norm_f32(const float* x, int64_t rows, int64_t dim, const float* gamma, const float* beta, float eps,
                      float* y) override;
  void attention_f32(const float* qkv, const SequenceLayout& seqs, int64_t width, int64_t heads, bool causal,
                     float* out) override;
  void attention_single_query(const float* q, const float* kv, const SequenceLayout& seqs, int64_t width,
                              int64_t heads, float* out) override;

  // The type of Role::GemmInput buffers (F32 unless a backend's GEMMs read bf16).
  virtual ElementType gemm_input_type() const { return ElementType::F32; }

  // The backend ops on host memory: views are F32, but for GemmInput buffers (gemm_input_type),
  // which layer norm, attention and linear layers write and linear layers read.
  Buffer alloc(int64_t count, Role role) override;
  Buffer adopt(Tensor&& t) override;
  Buffer upload(const float* host, int64_t count, Role role) override;
  void download(View src, int64_t count, float* host) override;
  void linear(View x, int64_t m, const LinearWeights& w, View y, Activation act, bool accumulate) override;
  void layer_norm(View x, int64_t rows, int64_t dim, View gamma, View beta, float eps, View y) override;
  void attention(View qkv, const SequenceLayout& seqs, int64_t width, int64_t heads, bool causal, View out) override;
  bool attends_pooled_rows() const override { return true; }
  void attention_pooled(View q, View kv, const SequenceLayout& seqs, const std::vector<int64_t>& rows, int64_t width,
                        int64_t heads, bool causal, View out) override;
  void patch_rows(View pixels, const PatchGeometry& g, View cols) override;
  void vit_tokens(View patches, View cls, View pos, int64_t images, int64_t tokens, int64_t width, View x) override;
  void embed(View table, View pos, const std::vector<int32_t>& ids, const std::vector<int32_t>& positions,
             int64_t width, View x) override;
  void gather_rows(View x, const std::vector<int64_t>& rows, int64_t width, View out) override;
};

// The ViT's input on host memory (CpuOpsBackend::patch_rows / vit_tokens, and the LoRA trainer):
// pixels [images, 3, size, size] as rows (img, gy, gx) of flattened patches, columns (c, ky, kx)
// as the patch convolution's weight is laid out, so the convolution is one matrix product.
void flatten_patches(const float* pixels, const PatchGeometry& g, float* cols);
// x[img*tokens + t] = (t == 0 ? cls : patches[img*(tokens-1) + t-1]) + pos[t].
void assemble_vit_tokens(const float* patches, const float* cls, const float* pos, int64_t images, int64_t tokens,
                         int64_t width, float* x);

// Row-wise layer norm into fp32 `y`, or (y null) rounded into bf16 `y_bf16`.
void layer_norm_rows(const float* x, int64_t rows, int64_t dim, const float* gamma, const float* beta, float eps,
                     float* y, uint16_t* y_bf16);
// Layer norm then the int8 GEMMs' row quantisation (quantize_rows_u8) in one pass over x: each
// row normalised in fp32 and quantised while in L1, not written out and read back.
void layer_norm_quantize_rows(const float* x, int64_t rows, int64_t dim, const float* gamma, const float* beta,
                              float eps, float levels, uint8_t* q, float* scale, int32_t* zero);
// Self-attention of qkv [tokens, 3*width] (fp32 or bf16) into out (fp32, or rounded into bf16).
void self_attention(View qkv, const SequenceLayout& seqs, int64_t width, int64_t heads, bool causal, View out);

// Element-wise work smaller than this per thread runs on the calling thread alone: a text
// query's 7 x 512 conversions or layer norms cost less than waking a pool worker.
constexpr size_t kElementGrain = 16384;
// The same grain counted in rows of `width` values.
inline size_t row_grain(int64_t width) {
  return std::max<size_t>(1, kElementGrain / static_cast<size_t>(std::max<int64_t>(1, width)));
}

// y[m, n] = x[m, k] · w[n, k]ᵀ (+ y when accumulate), single-threaded OpenBLAS.
void sgemm_nt(const float* x, int64_t m, int64_t k, const float* w, int64_t n, float* y, int64_t ldy, bool accumulate);

// The portable fp32 linear layer (OpenBLAS inside pool tasks): the fallback of every backend.
void blas_linear(const float* x, int64_t m, const LinearWeights& w, float* y, Activation act);

}  // namespace clipdex::kernels
