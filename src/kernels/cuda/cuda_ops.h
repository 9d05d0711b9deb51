#pragma once
// The element-wise and row-wise kernels of the CUDA backend, each one pass over its data.
// `T` is the work type (float, __half or __nv_bfloat16); sums, softmax and layer-norm
// statistics are fp32.
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/backend.h"

namespace clipdex::kernels::cuda {

// y[rows, dim] = layer_norm(x) * gamma + beta; x and y of the types given (may alias).
void layer_norm(const void* x, ElementType xt, int64_t rows, int64_t dim, const float* gamma, const float* beta,
                float eps, void* y, ElementType yt, cudaStream_t s);

// Attention per (sequence, head); offsets [count + 1] on the device; qkv [tokens, 3*width], out [tokens, width].
void attention(const void* qkv, ElementType t, const int32_t* offsets, int64_t count, int64_t max_length, int64_t width,
               int64_t heads, bool causal, void* out, cudaStream_t s);

// x[n] = act(x) in place.
void activation(void* x, ElementType t, int64_t n, Activation act, cudaStream_t s);

void patch_rows(const void* pixels, ElementType pt, const PatchGeometry& g, void* cols, ElementType t, cudaStream_t s);
void vit_tokens(const void* patches, ElementType t, const float* cls, const float* pos, int64_t images, int64_t tokens,
                int64_t width, float* x, cudaStream_t s);
void embed(const float* table, const float* pos, const int32_t* ids, const int32_t* positions, int64_t rows,
           int64_t width, float* x, cudaStream_t s);
// out row i = x row rows[i]; x and out of type t (rows of the stream or of a work buffer).
void gather_rows(const void* x, ElementType t, const int64_t* rows, int64_t count, int64_t width, void* out,
                 cudaStream_t s);

}  // namespace clipdex::kernels::cuda
