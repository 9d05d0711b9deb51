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

// Four consecutive elements as floats in one 8- or 16-byte access (the address a multiple of four elements).
__device__ __forceinline__ float4 load4(const float* p) { return *reinterpret_cast<const float4*>(p); }
__device__ __forceinline__ float4 load4(const __half* p) {
  const uint2 u = *reinterpret_cast<const uint2*>(p);
  const float2 a = __half22float2(*reinterpret_cast<const __half2*>(&u.x));
  const float2 b = __half22float2(*reinterpret_cast<const __half2*>(&u.y));
  return make_float4(a.x, a.y, b.x, b.y);
}
__device__ __forceinline__ float4 load4(const __nv_bfloat16* p) {
  const uint2 u = *reinterpret_cast<const uint2*>(p);
  const float2 a = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&u.x));
  const float2 b = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&u.y));
  return make_float4(a.x, a.y, b.x, b.y);
}
__device__ __forceinline__ void store4(float* p, float4 v) { *reinterpret_cast<float4*>(p) = v; }
__device__ __forceinline__ void store4(__half* p, float4 v) {
  __half2 h[2] = {__floats2half2_rn(v.x, v.y), __floats2half2_rn(v.z, v.w)};
  *reinterpret_cast<uint2*>(p) = *reinterpret_cast<const uint2*>(h);
}
__device__ __forceinline__ void store4(__nv_bfloat16* p, float4 v) {
  __nv_bfloat162 h[2] = {__floats2bfloat162_rn(v.x, v.y), __floats2bfloat162_rn(v.z, v.w)};
  *reinterpret_cast<uint2*>(p) = *reinterpret_cast<const uint2*>(h);
}

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

// ---- attention for wider heads (up to 128): a block takes kWarps * QPW query rows of one (sequence, head); keys and values
// stream through shared memory 32 at a time with an online softmax, so no score matrix is ever
// stored. Lane j holds key j of the tile in registers and scores it against the warp's QPW
// queries (read as shared-memory broadcasts); for the output each lane owns dimensions
// lane + 32*i and takes each value row from shared memory once for all QPW queries.
constexpr int kWarps = 4;

// dst[r][0, kD) = scale * src[r * ld + (0, d)] for r < ROWS, zero past d and past `valid`
// rows; every thread's loads are issued before any is used (the loop is unrolled).
template <int ROWS, int kD, int STRIDE, typename T>
__device__ __forceinline__ void load_tile(float (*dst)[STRIDE], const T* src, int64_t ld, int valid, int d,
                                          float scale) {
  constexpr int kVecs = ROWS * kD / 4, kThreads = kWarps * 32;
#pragma unroll
  for (int it = 0; it < (kVecs + kThreads - 1) / kThreads; ++it) {
    const int i = it * kThreads + static_cast<int>(threadIdx.x);
    if (i < kVecs) {
      const int r = i / (kD / 4), c = i % (kD / 4) * 4;
      float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      if (r < valid && c < d) v = load4(src + r * ld + c);
      dst[r][c] = v.x * scale;
      dst[r][c + 1] = v.y * scale;
      dst[r][c + 2] = v.z * scale;
      dst[r][c + 3] = v.w * scale;
    }
  }
}

template <typename T, int DPL, int QPW>
__global__ void __launch_bounds__(kWarps * 32)
    attention_kernel(const T* qkv, const int32_t* offsets, int width, int d, bool causal, float scale, T* out) {
  constexpr int kD = DPL * 32;
  __shared__ float ks[32][kD + 1];  // +1: lane j reads row j, conflict-free
  __shared__ float vs[32][kD];
  __shared__ __align__(16) float qs[kWarps * QPW][kD];
  const int seq = blockIdx.z, head = blockIdx.y;
  const int row0 = offsets[seq], length = offsets[seq + 1] - row0;
  const int q_first = blockIdx.x * kWarps * QPW;
  if (q_first >= length) return;  // the whole block leaves together
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int ld = 3 * width;
  const T* base = qkv + static_cast<int64_t>(row0) * ld + head * d;

  load_tile<kWarps * QPW, kD>(qs, base + static_cast<int64_t>(q_first) * ld, ld, length - q_first, d, scale);
  float m[QPW], l[QPW], o[QPW][DPL];
#pragma unroll
  for (int i = 0; i < QPW; ++i) {
    m[i] = -FLT_MAX;
    l[i] = 0.0f;
#pragma unroll
    for (int t = 0; t < DPL; ++t) o[i][t] = 0.0f;
  }
  const int warp_first = q_first + warp * QPW;  // this warp's first query row
  const int q_last = min(length, q_first + kWarps * QPW) - 1;
  const int keys = causal ? q_last + 1 : length;
  for (int k0 = 0; k0 < keys; k0 += 32) {
    __syncthreads();
    const T* keys_at = base + static_cast<int64_t>(k0) * ld;
    load_tile<32, kD>(ks, keys_at + width, ld, length - k0, d, 1.0f);
    load_tile<32, kD>(vs, keys_at + 2 * width, ld, length - k0, d, 1.0f);
    __syncthreads();
    if (warp_first >= length || (causal && k0 > warp_first + QPW - 1)) continue;  // warp-uniform
    const int key = k0 + lane;
    float kreg[kD];
#pragma unroll
    for (int t = 0; t < kD; ++t) kreg[t] = ks[lane][t];
    float p[QPW];
#pragma unroll
    for (int i = 0; i < QPW; ++i) {
      const int row = warp_first + i;
      float score = 0.0f;
#pragma unroll
      for (int t = 0; t < kD; t += 4) {
        const float4 q = *reinterpret_cast<const float4*>(&qs[warp * QPW + i][t]);
        score += q.x * kreg[t] + q.y * kreg[t + 1] + q.z * kreg[t + 2] + q.w * kreg[t + 3];
      }
      const bool valid = row < length && key < length && (!causal || key <= row);
      score = valid ? score : -FLT_MAX;
      const float tile_max = warp_max(score);
      const float m_new = fmaxf(m[i], tile_max);
      p[i] = valid ? __expf(score - m_new) : 0.0f;
      const float correction = m_new == -FLT_MAX ? 1.0f : __expf(m[i] - m_new);
      l[i] = l[i] * correction + warp_sum(p[i]);
      m[i] = m_new;
#pragma unroll
      for (int t = 0; t < DPL; ++t) o[i][t] *= correction;
    }
    const int tile_keys = min(32, keys - k0);
    for (int j = 0; j < tile_keys; ++j) {
      float v[DPL];
#pragma unroll
      for (int t = 0; t < DPL; ++t) v[t] = vs[j][lane + 32 * t];
#pragma unroll
      for (int i = 0; i < QPW; ++i) {
        const float pj = __shfl_sync(0xffffffffu, p[i], j);
#pragma unroll
        for (int t = 0; t < DPL; ++t) o[i][t] += pj * v[t];
      }
    }
  }
#pragma unroll
  for (int i = 0; i < QPW; ++i) {
    const int row = warp_first + i;
    if (row >= length) break;
    T* dst = out + static_cast<int64_t>(row0 + row) * width + head * d;
#pragma unroll
    for (int t = 0; t < DPL; ++t)
      if (lane + 32 * t < d) store(dst, lane + 32 * t, o[i][t] / l[i]);
  }
}

// ---- attention for head widths up to 64 (every CLIP tower but ViT-H and larger): one lane per
// query row. The row's scaled query and its output accumulator live in registers; the keys and
// values of the (sequence, head) pass through shared memory 64 rows at a time and are read as
// broadcasts; each lane keeps its own online softmax, so the loop needs no shuffles.
template <typename T, int D>
__global__ void __launch_bounds__(128)
    attention_rows_kernel(const T* qkv, const int32_t* offsets, int width, int d, bool causal, float scale, T* out) {
  constexpr int kTile = 64;
  __shared__ __align__(16) float ks[kTile][D];
  __shared__ __align__(16) float vs[kTile][D];
  const int seq = blockIdx.z, head = blockIdx.y;
  const int row0 = offsets[seq], length = offsets[seq + 1] - row0;
  const int q_first = blockIdx.x * blockDim.x;
  if (q_first >= length) return;  // the whole block leaves together
  const int64_t ld = 3 * width;
  const T* base = qkv + static_cast<int64_t>(row0) * ld + head * d;
  const int row = q_first + static_cast<int>(threadIdx.x);
  const bool active = row < length;
  float q[D], o[D];
#pragma unroll
  for (int t = 0; t < D; t += 4) {
    const float4 v = active && t < d ? load4(base + row * ld + t) : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    q[t] = v.x * scale;
    q[t + 1] = v.y * scale;
    q[t + 2] = v.z * scale;
    q[t + 3] = v.w * scale;
    o[t] = o[t + 1] = o[t + 2] = o[t + 3] = 0.0f;
  }
  float m = -FLT_MAX, l = 0.0f;
  const int block_last = min(length, q_first + static_cast<int>(blockDim.x)) - 1;
  const int keys = causal ? block_last + 1 : length;
  const int row_keys = causal ? row + 1 : length;  // keys this row attends to
  for (int k0 = 0; k0 < keys; k0 += kTile) {
    __syncthreads();
    for (int i = threadIdx.x; i < kTile * D / 4; i += blockDim.x) {
      const int r = i / (D / 4), c = i % (D / 4) * 4;
      float4 kv = make_float4(0.0f, 0.0f, 0.0f, 0.0f), vv = kv;
      if (k0 + r < length && c < d) {
        const T* key = base + static_cast<int64_t>(k0 + r) * ld + c;
        kv = load4(key + width);
        vv = load4(key + 2 * width);
      }
      *reinterpret_cast<float4*>(&ks[r][c]) = kv;
      *reinterpret_cast<float4*>(&vs[r][c]) = vv;
    }
    __syncthreads();
    if (!active) continue;
    const int last = min(kTile, row_keys - k0);
    for (int j = 0; j < last; ++j) {
      float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
#pragma unroll
      for (int t = 0; t < D; t += 4) {
        const float4 k = *reinterpret_cast<const float4*>(&ks[j][t]);
        s0 += q[t] * k.x;
        s1 += q[t + 1] * k.y;
        s2 += q[t + 2] * k.z;
        s3 += q[t + 3] * k.w;
      }
      const float score = (s0 + s1) + (s2 + s3);
      if (score > m) {  // a new maximum: rescale what was summed so far (rare after the first keys)
        const float c = __expf(m - score);
        l *= c;
#pragma unroll
        for (int t = 0; t < D; ++t) o[t] *= c;
        m = score;
      }
      const float p = __expf(score - m);
      l += p;
#pragma unroll
      for (int t = 0; t < D; t += 4) {
        const float4 v = *reinterpret_cast<const float4*>(&vs[j][t]);
        o[t] += p * v.x;
        o[t + 1] += p * v.y;
        o[t + 2] += p * v.z;
        o[t + 3] += p * v.w;
      }
    }
  }
  if (!active) return;
  T* dst = out + static_cast<int64_t>(row0 + row) * width + head * d;
  const float inv = 1.0f / l;
#pragma unroll
  for (int t = 0; t < D; t += 4)
    if (t < d) store4(dst + t, make_float4(o[t] * inv, o[t + 1] * inv, o[t + 2] * inv, o[t + 3] * inv));
}

template <typename T, int D>
void launch_attention_rows(const T* qkv, const int32_t* offsets, int64_t count, int64_t max_length, int64_t width,
                           int64_t heads, bool causal, T* out, cudaStream_t s) {
  const int d = static_cast<int>(width / heads);
  const int threads = static_cast<int>(std::min<int64_t>(128, (max_length + 31) / 32 * 32));
  const dim3 grid(blocks_for(max_length, threads), static_cast<unsigned>(heads), static_cast<unsigned>(count));
  attention_rows_kernel<T, D><<<grid, threads, 0, s>>>(qkv, offsets, static_cast<int>(width), d, causal,
                                                        1.0f / sqrtf(static_cast<float>(d)), out);
  check_launch("attention");
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

template <Activation kAct>
__device__ __forceinline__ float activate(float v) {
  if (kAct == Activation::QuickGelu) return v / (1.0f + __expf(-1.702f * v));
  if (kAct == Activation::Gelu) return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
  if (kAct == Activation::Relu) return fmaxf(v, 0.0f);
  return v;
}

// Four elements a thread (n4 groups), then the scalar tail.
template <Activation kAct, typename T>
__global__ void activation_kernel(T* x, int64_t n) {
  const int64_t n4 = n / 4, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n4; i += stride) {
    float4 v = load4(x + 4 * i);
    v = make_float4(activate<kAct>(v.x), activate<kAct>(v.y), activate<kAct>(v.z), activate<kAct>(v.w));
    store4(x + 4 * i, v);
  }
  for (int64_t i = 4 * n4 + blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += stride)
    store(x, i, activate<kAct>(load(x, i)));
}

// VEC consecutive kx per thread (4 when the patch and image sizes allow, else 1).
template <int VEC, typename P, typename T>
__global__ void patch_rows_kernel(const P* pixels, int64_t images, int size, int patch, T* cols) {
  const int grid = size / patch, k = 3 * patch * patch;
  const int64_t total = images * grid * grid * k / VEC;
  for (int64_t v = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; v < total;
       v += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = v * VEC, p = i / k;
    const int r = static_cast<int>(i % k);
    const int c = r / (patch * patch), ky = (r / patch) % patch, kx = r % patch;
    const int64_t img = p / (grid * grid);
    const int gy = static_cast<int>((p / grid) % grid), gx = static_cast<int>(p % grid);
    const int64_t src = ((img * 3 + c) * size + gy * patch + ky) * size + gx * patch + kx;
    if constexpr (VEC == 4) store4(cols + i, load4(pixels + src));
    else store(cols, i, load(pixels, src));
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

template <typename T>  // a copy: 4- or 2-byte elements moved as bits
__global__ void gather_rows_kernel(const T* x, const int64_t* rows, int64_t count, int width, T* out) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count * width;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[i] = x[rows[i / width] * width + i % width];
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
  if (d * heads != width || d > 128 || d % 4 != 0)
    throw InputError("the CUDA attention kernel takes head widths that are multiples of 4, up to 128");
  with_type(t, [&](auto* tp) {
    using T = std::remove_pointer_t<decltype(tp)>;
    const auto* in = static_cast<const T*>(qkv);
    auto* o = static_cast<T*>(out);
    if (d <= 32) launch_attention_rows<T, 32>(in, offsets, count, max_length, width, heads, causal, o, s);
    else if (d <= 64) launch_attention_rows<T, 64>(in, offsets, count, max_length, width, heads, causal, o, s);
    else if (d <= 96) launch_attention<T, 3, 4>(in, offsets, count, max_length, width, heads, causal, o, s);
    else launch_attention<T, 4, 4>(in, offsets, count, max_length, width, heads, causal, o, s);
  });
}

void activation(void* x, ElementType t, int64_t n, Activation act, cudaStream_t s) {
  if (act == Activation::None || n == 0) return;
  with_type(t, [&](auto* tp) {
    using T = std::remove_pointer_t<decltype(tp)>;
    T* p = static_cast<T*>(x);
    const unsigned blocks = grid_for((n + 3) / 4);
    if (act == Activation::QuickGelu) activation_kernel<Activation::QuickGelu><<<blocks, 256, 0, s>>>(p, n);
    else if (act == Activation::Gelu) activation_kernel<Activation::Gelu><<<blocks, 256, 0, s>>>(p, n);
    else activation_kernel<Activation::Relu><<<blocks, 256, 0, s>>>(p, n);
  });
  check_launch("activation");
}

void patch_rows(const void* pixels, ElementType pt, const PatchGeometry& g, void* cols, ElementType t,
                cudaStream_t s) {
  const int64_t n = g.patches() * g.patch_values();
  if (n == 0) return;
  with_type(pt, [&](auto* pp) {
    with_type(t, [&](auto* tp) {
      using P = std::remove_pointer_t<decltype(pp)>;
      using T = std::remove_pointer_t<decltype(tp)>;
      const auto* in = static_cast<const P*>(pixels);
      auto* out = static_cast<T*>(cols);
      const int size = static_cast<int>(g.size), patch = static_cast<int>(g.patch);
      if (patch % 4 == 0)
        patch_rows_kernel<4><<<grid_for(n / 4), 256, 0, s>>>(in, g.images, size, patch, out);
      else
        patch_rows_kernel<1><<<grid_for(n), 256, 0, s>>>(in, g.images, size, patch, out);
    });
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

void gather_rows(const void* x, ElementType t, const int64_t* rows, int64_t count, int64_t width, void* out,
                 cudaStream_t s) {
  if (count == 0) return;
  if (type_bytes(t) == 4)
    gather_rows_kernel<<<grid_for(count * width), 256, 0, s>>>(static_cast<const uint32_t*>(x), rows, count,
                                                              static_cast<int>(width), static_cast<uint32_t*>(out));
  else
    gather_rows_kernel<<<grid_for(count * width), 256, 0, s>>>(static_cast<const uint16_t*>(x), rows, count,
                                                              static_cast<int>(width), static_cast<uint16_t*>(out));
  check_launch("gather_rows");
}

}  // namespace clipdex::kernels::cuda
