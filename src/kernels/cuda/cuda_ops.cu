#include "kernels/cuda/cuda_ops.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cfloat>

#include "kernels/cuda/cuda_check.h"

namespace clipdex::kernels::cuda {
namespace {

__device__ __forceinline__ float load(const float* p, int64_t i) { return p[i]; }
__device__ __forceinline__ float load(const __half* p, int64_t i) { return __half2float(p[i]); }
__device__ __forceinline__ float load(const __nv_bfloat16* p, int64_t i) { return __bfloat162float(p[i]); }
__device__ __forceinline__ void store(float* p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void store(__half* p, int64_t i, float v) { p[i] = __float2half_rn(v); }
__device__ __forceinline__ void store(__nv_bfloat16* p, int64_t i, float v) { p[i] = __float2bfloat16_rn(v); }

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Calls fn with a typed null pointer for the element type, so one switch serves every kernel.
template <typename Fn>
void with_type(ElementType t, Fn fn) {
  switch (t) {
    case ElementType::F32: return fn(static_cast<float*>(nullptr));
    case ElementType::F16: return fn(static_cast<__half*>(nullptr));
    case ElementType::BF16: return fn(static_cast<__nv_bfloat16*>(nullptr));
  }
}

unsigned blocks_for(int64_t n, int threads) { return static_cast<unsigned>((n + threads - 1) / threads); }

// ---- layer norm: one warp per row; statistics in two passes over the row (it stays in L1).
template <typename X, typename Y>
__global__ void layer_norm_kernel(const X* x, int64_t rows, int dim, const float* gamma, const float* beta, float eps,
                                  Y* y) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;
  const X* xr = x + row * dim;
  float sum = 0.0f;
  for (int j = lane; j < dim; j += 32) sum += load(xr, j);
  const float mean = warp_sum(sum) / dim;
  float sq = 0.0f;
  for (int j = lane; j < dim; j += 32) {
    const float d = load(xr, j) - mean;
    sq += d * d;
  }
  const float inv = rsqrtf(warp_sum(sq) / dim + eps);
  Y* yr = y + row * dim;
  for (int j = lane; j < dim; j += 32) store(yr, j, (load(xr, j) - mean) * inv * gamma[j] + beta[j]);
}

// ---- attention: a block takes kWarps * QPW query rows of one (sequence, head); keys and values
// stream through shared memory 32 at a time with an online softmax, so no score matrix is ever
// stored. Lane j scores key j of the tile; each lane owns output dimensions lane + 32*i.
constexpr int kWarps = 4;

template <typename T, int DPL, int QPW>
__global__ void __launch_bounds__(kWarps * 32)
    attention_kernel(const T* qkv, const int32_t* offsets, int width, int d, bool causal, float scale, T* out) {
  constexpr int kD = DPL * 32;
  __shared__ float ks[32][kD + 1];  // +1: lane j reads row j, conflict-free
  __shared__ float vs[32][kD];
  __shared__ float qs[kWarps * QPW][kD];
  const int seq = blockIdx.z, head = blockIdx.y;
  const int row0 = offsets[seq], length = offsets[seq + 1] - row0;
  const int q_first = blockIdx.x * kWarps * QPW;
  if (q_first >= length) return;  // the whole block leaves together
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int ld = 3 * width;
  const T* base = qkv + static_cast<int64_t>(row0) * ld + head * d;

  for (int i = threadIdx.x; i < kWarps * QPW * kD; i += blockDim.x) {
    const int q = i / kD, t = i % kD, row = q_first + q;
    qs[q][t] = (row < length && t < d) ? load(base, static_cast<int64_t>(row) * ld + t) * scale : 0.0f;
  }
  float m[QPW], l[QPW], o[QPW][DPL];
#pragma unroll
  for (int i = 0; i < QPW; ++i) {
    m[i] = -FLT_MAX;
    l[i] = 0.0f;
#pragma unroll
    for (int t = 0; t < DPL; ++t) o[i][t] = 0.0f;
  }
  const int q_last = min(length, q_first + kWarps * QPW) - 1;
  const int keys = causal ? q_last + 1 : length;
  for (int k0 = 0; k0 < keys; k0 += 32) {
    __syncthreads();
    for (int i = threadIdx.x; i < 32 * kD; i += blockDim.x) {
      const int j = i / kD, t = i % kD, key = k0 + j;
      const bool ok = key < length && t < d;
      ks[j][t] = ok ? load(base, static_cast<int64_t>(key) * ld + width + t) : 0.0f;
      vs[j][t] = ok ? load(base, static_cast<int64_t>(key) * ld + 2 * width + t) : 0.0f;
    }
    __syncthreads();
    const int key = k0 + lane;
#pragma unroll
    for (int i = 0; i < QPW; ++i) {
      const int qi = warp * QPW + i, row = q_first + qi;
      if (row >= length) break;  // warp-uniform
      float score = 0.0f;
#pragma unroll 8
      for (int t = 0; t < kD; ++t) score += qs[qi][t] * ks[lane][t];
      const bool valid = key < length && (!causal || key <= row);
      score = valid ? score : -FLT_MAX;
      const float tile_max = warp_max(score);
      if (tile_max == -FLT_MAX) continue;  // every key of this tile masked for this row
      const float m_new = fmaxf(m[i], tile_max);
      const float p = valid ? __expf(score - m_new) : 0.0f;
      const float correction = __expf(m[i] - m_new);
      l[i] = l[i] * correction + warp_sum(p);
      m[i] = m_new;
#pragma unroll
      for (int t = 0; t < DPL; ++t) o[i][t] *= correction;
      for (int j = 0; j < 32; ++j) {
        const float pj = __shfl_sync(0xffffffffu, p, j);
#pragma unroll
        for (int t = 0; t < DPL; ++t) o[i][t] += pj * vs[j][lane + 32 * t];
      }
    }
  }
#pragma unroll
  for (int i = 0; i < QPW; ++i) {
    const int row = q_first + warp * QPW + i;
    if (row >= length) break;
    T* dst = out + static_cast<int64_t>(row0 + row) * width + head * d;
#pragma unroll
    for (int t = 0; t < DPL; ++t)
      if (lane + 32 * t < d) store(dst, lane + 32 * t, o[i][t] / l[i]);
  }
}

template <typename T, int DPL, int QPW>
void launch_attention(const T* qkv, const int32_t* offsets, int64_t count, int64_t max_length, int64_t width,
                      int64_t heads, bool causal, T* out, cudaStream_t s) {
  const int d = static_cast<int>(width / heads);
  const dim3 grid(blocks_for(max_length, kWarps * QPW), static_cast<unsigned>(heads), static_cast<unsigned>(count));
  attention_kernel<T, DPL, QPW><<<grid, kWarps * 32, 0, s>>>(qkv, offsets, static_cast<int>(width), d, causal,
                                                              1.0f / sqrtf(static_cast<float>(d)), out);
  check_launch("attention");
}

template <typename T>
__global__ void activation_kernel(T* x, int64_t n, Activation act) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float v = load(x, i);
    float r = v;
    if (act == Activation::QuickGelu) r = v / (1.0f + __expf(-1.702f * v));
    else if (act == Activation::Gelu) r = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    else if (act == Activation::Relu) r = fmaxf(v, 0.0f);
    store(x, i, r);
  }
}

template <typename T>
__global__ void patch_rows_kernel(const float* pixels, int64_t images, int size, int patch, T* cols) {
  const int grid = size / patch, k = 3 * patch * patch;
  const int64_t total = images * grid * grid * k;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t p = i / k;
    const int r = static_cast<int>(i % k);
    const int c = r / (patch * patch), ky = (r / patch) % patch, kx = r % patch;
    const int64_t img = p / (grid * grid);
    const int gy = static_cast<int>((p / grid) % grid), gx = static_cast<int>(p % grid);
    store(cols, i, pixels[((img * 3 + c) * size + gy * patch + ky) * size + gx * patch + kx]);
  }
}

template <typename T>
__global__ void vit_tokens_kernel(const T* patches, const float* cls, const float* pos, int64_t images, int tokens,
                                  int width, float* x) {
  const int64_t total = images * tokens * width;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int j = static_cast<int>(i % width);
    const int64_t row = i / width;
    const int t = static_cast<int>(row % tokens);
    const int64_t img = row / tokens;
    const float src = t == 0 ? cls[j] : load(patches, (img * (tokens - 1) + t - 1) * width + j);
    x[i] = src + pos[static_cast<int64_t>(t) * width + j];
  }
}

__global__ void embed_kernel(const float* table, const float* pos, const int32_t* ids, const int32_t* positions,
                             int64_t rows, int width, float* x) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < rows * width;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = i / width;
    const int j = static_cast<int>(i % width);
    x[i] = table[static_cast<int64_t>(ids[r]) * width + j] + pos[static_cast<int64_t>(positions[r]) * width + j];
  }
}

__global__ void gather_rows_kernel(const float* x, const int64_t* rows, int64_t count, int width, float* out) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count * width;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[i] = x[rows[i / width] * width + i % width];
}

template <typename A, typename B>
__global__ void convert_kernel(const A* in, B* out, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    store(out, i, load(in, i));
}

// Grid-stride kernels: enough blocks to fill the GPU, no more.
unsigned grid_for(int64_t n) { return static_cast<unsigned>(std::min<int64_t>((n + 255) / 256, 132 * 16)); }

}  // namespace

void layer_norm(const void* x, ElementType xt, int64_t rows, int64_t dim, const float* gamma, const float* beta,
                float eps, void* y, ElementType yt, cudaStream_t s) {
  if (rows == 0) return;
  constexpr int kRowsPerBlock = 8;
  with_type(xt, [&](auto* xp) {
    with_type(yt, [&](auto* yp) {
      using X = std::remove_pointer_t<decltype(xp)>;
      using Y = std::remove_pointer_t<decltype(yp)>;
      layer_norm_kernel<<<blocks_for(rows, kRowsPerBlock), kRowsPerBlock * 32, 0, s>>>(
          static_cast<const X*>(x), rows, static_cast<int>(dim), gamma, beta, eps, static_cast<Y*>(y));
    });
  });
  check_launch("layer_norm");
}

void attention(const void* qkv, ElementType t, const int32_t* offsets, int64_t count, int64_t max_length, int64_t width,
               int64_t heads, bool causal, void* out, cudaStream_t s) {
  if (count == 0 || max_length == 0) return;
  const int64_t d = width / heads;
  if (d * heads != width || d > 128) throw InputError("the CUDA attention kernel takes head widths up to 128");
  with_type(t, [&](auto* tp) {
    using T = std::remove_pointer_t<decltype(tp)>;
    const auto* in = static_cast<const T*>(qkv);
    auto* o = static_cast<T*>(out);
    if (d <= 32) launch_attention<T, 1, 8>(in, offsets, count, max_length, width, heads, causal, o, s);
    else if (d <= 64) launch_attention<T, 2, 8>(in, offsets, count, max_length, width, heads, causal, o, s);
    else if (d <= 96) launch_attention<T, 3, 4>(in, offsets, count, max_length, width, heads, causal, o, s);
    else launch_attention<T, 4, 4>(in, offsets, count, max_length, width, heads, causal, o, s);
  });
}

void activation(void* x, ElementType t, int64_t n, Activation act, cudaStream_t s) {
  if (act == Activation::None || n == 0) return;
  with_type(t, [&](auto* tp) {
    using T = std::remove_pointer_t<decltype(tp)>;
    activation_kernel<<<grid_for(n), 256, 0, s>>>(static_cast<T*>(x), n, act);
  });
  check_launch("activation");
}

void patch_rows(const float* pixels, const PatchGeometry& g, void* cols, ElementType t, cudaStream_t s) {
  const int64_t n = g.patches() * g.patch_values();
  if (n == 0) return;
  with_type(t, [&](auto* tp) {
    using T = std::remove_pointer_t<decltype(tp)>;
    patch_rows_kernel<<<grid_for(n), 256, 0, s>>>(pixels, g.images, static_cast<int>(g.size),
                                                   static_cast<int>(g.patch), static_cast<T*>(cols));
  });
  check_launch("patch_rows");
}

void vit_tokens(const void* patches, ElementType t, const float* cls, const float* pos, int64_t images, int64_t tokens,
                int64_t width, float* x, cudaStream_t s) {
  const int64_t n = images * tokens * width;
  if (n == 0) return;
  with_type(t, [&](auto* tp) {
    using T = std::remove_pointer_t<decltype(tp)>;
    vit_tokens_kernel<<<grid_for(n), 256, 0, s>>>(static_cast<const T*>(patches), cls, pos, images,
                                                   static_cast<int>(tokens), static_cast<int>(width), x);
  });
  check_launch("vit_tokens");
}

void embed(const float* table, const float* pos, const int32_t* ids, const int32_t* positions, int64_t rows,
           int64_t width, float* x, cudaStream_t s) {
  if (rows == 0) return;
  embed_kernel<<<grid_for(rows * width), 256, 0, s>>>(table, pos, ids, positions, rows, static_cast<int>(width), x);
  check_launch("embed");
}

void gather_rows(const float* x, const int64_t* rows, int64_t count, int64_t width, float* out, cudaStream_t s) {
  if (count == 0) return;
  gather_rows_kernel<<<grid_for(count * width), 256, 0, s>>>(x, rows, count, static_cast<int>(width), out);
  check_launch("gather_rows");
}

void convert(const void* in, ElementType from, void* out, ElementType to, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  with_type(from, [&](auto* fp) {
    with_type(to, [&](auto* tp) {
      using A = std::remove_pointer_t<decltype(fp)>;
      using B = std::remove_pointer_t<decltype(tp)>;
      convert_kernel<<<grid_for(n), 256, 0, s>>>(static_cast<const A*>(in), static_cast<B*>(out), n);
    });
  });
  check_launch("convert");
}

}  // namespace clipdex::kernels::cuda
