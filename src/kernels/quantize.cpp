#include "kernels/quantize.h"

#include <algorithm>
#include <cmath>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "core/half.h"
#include "core/isa_clones.h"
#include "kernels/activation_value.h"
#include "kernels/bf16_rows.h"
#include "kernels/lane_reduce.h"

namespace clipdex::kernels {
namespace {

// Round to nearest (even) for |v| < 2^22 without a libm call, so the loop vectorises.
[[gnu::always_inline]] inline float round_nearest(float v) { return (v + 12582912.0f) - 12582912.0f; }

// A row's range [lo, hi] (lo <= 0 <= hi) onto [0, levels]: the step s and the code z of 0.
inline void row_scale_and_zero(float lo, float hi, float levels, float& s, float& z) {
  s = hi > lo ? (hi - lo) / levels : 1.0f;
  z = std::clamp(round_nearest(-lo / s), 0.0f, levels);
}

template <int N, typename T>
[[gnu::always_inline]] inline void quantize_row(const T* x, int64_t k, float levels, uint8_t* q, float& scale,
                                                int32_t& zero) {
  float lo = 0.0f, hi = 0.0f;
  lane_min_max<N>(x, k, lo, hi);
  float s, z;
  row_scale_and_zero(lo, hi, levels, s, z);
  const float inv = 1.0f / s;
  for (int64_t i = 0; i < k; ++i)
    q[i] = static_cast<uint8_t>(std::clamp(round_nearest(lane_value(x, i) * inv) + z, 0.0f, levels));
  scale = s;
  zero = static_cast<int32_t>(z);
}

template <int N, typename T>
[[gnu::always_inline]] inline void quantize_rows(const T* x, int64_t rows, int64_t k, float levels, uint8_t* q,
                                                 float* scale, int32_t* zero) {
  for (int64_t r = 0; r < rows; ++r) quantize_row<N>(x + r * k, k, levels, q + r * k, scale[r], zero[r]);
}

template <int N>
[[gnu::always_inline]] inline void quantize_weights(const float* w, int64_t k, float levels, int8_t* q, float& scale,
                                                    int32_t& sum) {
  float lo = 0.0f, hi = 0.0f;
  lane_min_max<N>(w, k, lo, hi);
  const float amax = std::max(-lo, hi);
  const float s = amax > 0.0f ? amax / levels : 1.0f;
  const float inv = 1.0f / s;
  int32_t total = 0;
  for (int64_t i = 0; i < k; ++i) {
    const auto v = static_cast<int8_t>(std::clamp(round_nearest(w[i] * inv), -levels, levels));
    q[i] = v;
    total += v;
  }
  scale = s;
  sum = total;
}

// y = bf16(act(dequantised acc + bias)) (bias may be null), in one pass.
template <Activation A>
[[gnu::always_inline]] inline void dequantize_activate_narrow(const int32_t* acc, int64_t n, int32_t zero,
                                                              float row_scale, const int32_t* column_sum,
                                                              const float* weight_scale, const float* bias,
                                                              uint16_t* y) {
  const auto value = [&](int64_t j) {
    return static_cast<float>(acc[j] - zero * column_sum[j]) * (row_scale * weight_scale[j]);
  };
  if (bias)
    write_bf16_row(n, y, [&](int64_t j) { return activate_for_bf16<A>(value(j) + bias[j]); });
  else
    write_bf16_row(n, y, [&](int64_t j) { return activate_for_bf16<A>(value(j)); });
}

// Each compiled per x86-64 level with its register width (core/isa_clones.h); the rows fp32 or
// bf16 (uint16_t: the reduced modes' activations, read without widening them first).
template <typename T>
using RowsFn = void (*)(const T*, int64_t, int64_t, float, uint8_t*, float*, int32_t*);
using WeightsFn = void (*)(const float*, int64_t, float, int8_t*, float&, int32_t&);
#if defined(__x86_64__) && !defined(__clang__)
// The AVX-512 build in intrinsics: GCC widened bf16 rows 8 values at a time with inserts and
// shuffles, and rounded, offset and clamped in float; here one vpmovzxwd widens 16, and the codes
// are rounded (to nearest even, whatever MXCSR says), offset and clamped as integers, then
// narrowed to bytes. The same codes bit for bit: round(t) + z is exact in float below 2^24.
#define CLIPDEX_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl")))

CLIPDEX_TARGET_AVX512 inline __mmask16 first_lanes(int64_t n) {
  return static_cast<__mmask16>(n >= 16 ? 0xffff : (1u << n) - 1);
}
// The unmasked forms of these in GCC 12's headers pass an undefined register through, which
// -Wmaybe-uninitialized reports wherever they inline; the masked forms with every lane set do not.
constexpr __mmask16 kAll = 0xffff;
CLIPDEX_TARGET_AVX512 inline __m512 min_16(__m512 a, __m512 b) { return _mm512_mask_min_ps(a, kAll, a, b); }
CLIPDEX_TARGET_AVX512 inline __m512 max_16(__m512 a, __m512 b) { return _mm512_mask_max_ps(a, kAll, a, b); }
CLIPDEX_TARGET_AVX512 inline __m512i clamp_16(__m512i v, __m512i lo, __m512i hi) {
  return _mm512_mask_min_epi32(v, kAll, _mm512_mask_max_epi32(v, kAll, v, lo), hi);
}
CLIPDEX_TARGET_AVX512 inline __m512i round_16(__m512 v) {  // to nearest even, whatever MXCSR says
  return _mm512_mask_cvt_roundps_epi32(_mm512_setzero_si512(), kAll, v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

// 16 values from x (fp32, or bf16 widened), lanes past m zero.
CLIPDEX_TARGET_AVX512 inline __m512 load_16(const float* x, __mmask16 m) { return _mm512_maskz_loadu_ps(m, x); }
CLIPDEX_TARGET_AVX512 inline __m512 load_16(const uint16_t* x, __mmask16 m) {
  const __m512i wide = _mm512_maskz_cvtepu16_epi32(kAll, _mm256_maskz_loadu_epi16(m, x));
  return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(kAll, wide, 16));
}

// min or max across the lanes, by halves (GCC 12's _mm512_reduce_* warn of undefined registers).
template <bool Max>
CLIPDEX_TARGET_AVX512 inline float across(__m512 v) {
  __m256 h;
  __m128 q;
  if constexpr (Max) {
    h = _mm256_max_ps(_mm512_extractf32x8_ps(v, 0), _mm512_extractf32x8_ps(v, 1));
    q = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    q = _mm_max_ps(q, _mm_movehl_ps(q, q));
    q = _mm_max_ss(q, _mm_movehdup_ps(q));
  } else {
    h = _mm256_min_ps(_mm512_extractf32x8_ps(v, 0), _mm512_extractf32x8_ps(v, 1));
    q = _mm_min_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    q = _mm_min_ps(q, _mm_movehl_ps(q, q));
    q = _mm_min_ss(q, _mm_movehdup_ps(q));
  }
  return _mm_cvtss_f32(q);
}

template <typename T>
CLIPDEX_TARGET_AVX512 void rows_v4(const T* x, int64_t rows, int64_t k, float levels, uint8_t* q, float* scale,
                                   int32_t* zero) {
  for (int64_t r = 0; r < rows; ++r, x += k, q += k) {
    __m512 lo = _mm512_setzero_ps(), hi = _mm512_setzero_ps();  // zeros of a short tail change neither
    for (int64_t i = 0; i < k; i += 16) {
      const __m512 v = load_16(x + i, first_lanes(k - i));
      lo = min_16(lo, v);
      hi = max_16(hi, v);
    }
    float s, z;
    row_scale_and_zero(across<false>(lo), across<true>(hi), levels, s, z);
    const __m512 inv = _mm512_set1_ps(1.0f / s);
    const __m512i offset = _mm512_set1_epi32(static_cast<int32_t>(z)), top = _mm512_set1_epi32(static_cast<int32_t>(levels));
    for (int64_t i = 0; i < k; i += 16) {
      const __mmask16 m = first_lanes(k - i);
      const __m512i rounded = round_16(_mm512_mul_ps(load_16(x + i, m), inv));
      const __m512i code = clamp_16(_mm512_add_epi32(rounded, offset), _mm512_setzero_si512(), top);
      // Narrowed in a register, then stored: vpmovdb straight to memory cost a fifth of this
      // loop on Zen 5.
      const __m128i bytes = _mm512_maskz_cvtepi32_epi8(kAll, code);
      if (m == kAll) _mm_storeu_si128(reinterpret_cast<__m128i*>(q + i), bytes);
      else _mm_mask_storeu_epi8(q + i, m, bytes);
    }
    scale[r] = s;
    zero[r] = static_cast<int32_t>(z);
  }
}
#else
template <typename T>
CLIPDEX_TARGET_V4 void rows_v4(const T* x, int64_t rows, int64_t k, float levels, uint8_t* q, float* scale,
                               int32_t* zero) {
  quantize_rows<16>(x, rows, k, levels, q, scale, zero);
}
#endif
template <typename T>
CLIPDEX_TARGET_V3 void rows_v3(const T* x, int64_t rows, int64_t k, float levels, uint8_t* q, float* scale,
                               int32_t* zero) {
  quantize_rows<8>(x, rows, k, levels, q, scale, zero);
}
template <typename T>
void rows_baseline(const T* x, int64_t rows, int64_t k, float levels, uint8_t* q, float* scale, int32_t* zero) {
  quantize_rows<4>(x, rows, k, levels, q, scale, zero);
}
CLIPDEX_TARGET_V4 void weights_v4(const float* w, int64_t k, float levels, int8_t* q, float& scale, int32_t& sum) {
  quantize_weights<16>(w, k, levels, q, scale, sum);
}
CLIPDEX_TARGET_V3 void weights_v3(const float* w, int64_t k, float levels, int8_t* q, float& scale, int32_t& sum) {
  quantize_weights<8>(w, k, levels, q, scale, sum);
}
void weights_baseline(const float* w, int64_t k, float levels, int8_t* q, float& scale, int32_t& sum) {
  quantize_weights<4>(w, k, levels, q, scale, sum);
}

}  // namespace

void quantize_rows_u8(const float* x, int64_t rows, int64_t k, float levels, uint8_t* q, float* scale, int32_t* zero,
                      int isa_level) {
  isa_build<RowsFn<float>>(isa_level, rows_v4<float>, rows_v3<float>, rows_baseline<float>)(x, rows, k, levels, q,
                                                                                          scale, zero);
}

void quantize_rows_u8(const uint16_t* x_bf16, int64_t rows, int64_t k, float levels, uint8_t* q, float* scale,
                      int32_t* zero, int isa_level) {
  isa_build<RowsFn<uint16_t>>(isa_level, rows_v4<uint16_t>, rows_v3<uint16_t>, rows_baseline<uint16_t>)(
      x_bf16, rows, k, levels, q, scale, zero);
}

void quantize_row_s8(const float* w, int64_t k, float levels, int8_t* q, float& scale, int32_t& sum, int isa_level) {
  isa_build<WeightsFn>(isa_level, weights_v4, weights_v3, weights_baseline)(w, k, levels, q, scale, sum);
}

CLIPDEX_ISA_CLONES void dequantize_row(const int32_t* acc, int64_t n, int32_t zero, float row_scale,
                                       const int32_t* column_sum, const float* weight_scale, const float* bias,
                                       float* y, bool accumulate) {
  const auto value = [&](int64_t j) {
    return static_cast<float>(acc[j] - zero * column_sum[j]) * (row_scale * weight_scale[j]);
  };
  if (accumulate && bias)
    for (int64_t j = 0; j < n; ++j) y[j] += value(j) + bias[j];
  else if (accumulate)
    for (int64_t j = 0; j < n; ++j) y[j] += value(j);
  else if (bias)
    for (int64_t j = 0; j < n; ++j) y[j] = value(j) + bias[j];
  else
    for (int64_t j = 0; j < n; ++j) y[j] = value(j);
}

CLIPDEX_ISA_CLONES void dequantize_row_bf16(const int32_t* acc, int64_t n, int32_t zero, float row_scale,
                                            const int32_t* column_sum, const float* weight_scale, const float* bias,
                                            Activation act, uint16_t* y) {
  using enum Activation;
  const int32_t* cs = column_sum;
  const float* ws = weight_scale;
  switch (act) {
    case None: return dequantize_activate_narrow<None>(acc, n, zero, row_scale, cs, ws, bias, y);
    case QuickGelu: return dequantize_activate_narrow<QuickGelu>(acc, n, zero, row_scale, cs, ws, bias, y);
    case Gelu: return dequantize_activate_narrow<Gelu>(acc, n, zero, row_scale, cs, ws, bias, y);
    case Relu: return dequantize_activate_narrow<Relu>(acc, n, zero, row_scale, cs, ws, bias, y);
  }
}

}  // namespace clipdex::kernels
