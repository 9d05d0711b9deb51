// One attention head from bf16 q, k and v with AVX512_BF16's dot products (vdpbf16ps: 16 sums
// of two bf16 products each per instruction, accumulated in fp32).
//
// The fp32 kernel's shape (attention_head.cpp), on pairs: scores = q · Kᵀ with K's rows transposed
// as pairs of adjacent values (each 32-bit word of a key row is one (t, t+1) pair), a query's
// pair broadcast against 16 keys; then softmax in fp32; then out = p · V with V's rows
// interleaved two by two, a pair of probabilities (rounded to bf16) broadcast against 16 of the
// d values. Four queries at a time, so each key or value load feeds four sums.
#include "kernels/attention_head.h"

#include <algorithm>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "kernels/cpu_features.h"
#include "kernels/fast_math.h"
#include "kernels/lane_reduce.h"
#include "kernels/tile_transpose.h"

namespace clipdex::kernels {

#if defined(__x86_64__)
namespace {

#define CLIPDEX_TARGET_BF16 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16")))

constexpr int kGroup = 4;  // queries attended together

int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

uint32_t word_at(const uint16_t* p) {  // two adjacent bf16 values as one 32-bit word
  uint32_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

// acc[g][b] += Σ_u a[g][u] · kt[u][b] over the key pairs u < d/2, for NB blocks of 16 keys;
// then scaled into scores[g] (row stride lp).
template <int G, int NB>
CLIPDEX_TARGET_BF16 inline void score_blocks(const uint16_t* const (&q)[kGroup], int64_t pairs, const uint32_t* kt,
                                            int64_t lp, float scale, float* scores) {
  __m512 acc[G][NB];
  for (int g = 0; g < G; ++g)
    for (int b = 0; b < NB; ++b) acc[g][b] = _mm512_setzero_ps();
  for (int64_t u = 0; u < pairs; ++u) {
    __m512bh keys[NB];
    for (int b = 0; b < NB; ++b) keys[b] = (__m512bh)_mm512_loadu_si512(kt + u * lp + 16 * b);
    for (int g = 0; g < G; ++g) {
      const __m512bh a = (__m512bh)_mm512_set1_epi32(static_cast<int>(word_at(q[g] + 2 * u)));
      for (int b = 0; b < NB; ++b) acc[g][b] = _mm512_dpbf16_ps(acc[g][b], a, keys[b]);
    }
  }
  for (int g = 0; g < G; ++g)
    for (int b = 0; b < NB; ++b)
      _mm512_storeu_ps(scores + g * lp + 16 * b, _mm512_mul_ps(acc[g][b], _mm512_set1_ps(scale)));
}

// out[g][c] = norm[g] · Σ_jj p[g][jj] · vv[jj][c] over value pairs jj, for NC blocks of 16 of
// the d values starting at c0.
template <int G, int NC>
CLIPDEX_TARGET_BF16 inline void output_blocks(const uint16_t* const (&p)[kGroup], int64_t pairs, const uint32_t* vv,
                                             int64_t d, int64_t c0, const float (&norm)[kGroup],
                                             float* const (&out)[kGroup]) {
  __m512 acc[G][NC];
  for (int g = 0; g < G; ++g)
    for (int c = 0; c < NC; ++c) acc[g][c] = _mm512_setzero_ps();
  for (int64_t jj = 0; jj < pairs; ++jj) {
    __m512bh values[NC];
    for (int c = 0; c < NC; ++c) values[c] = (__m512bh)_mm512_loadu_si512(vv + jj * d + c0 + 16 * c);
    for (int g = 0; g < G; ++g) {
      const __m512bh a = (__m512bh)_mm512_set1_epi32(static_cast<int>(word_at(p[g] + 2 * jj)));
      for (int c = 0; c < NC; ++c) acc[g][c] = _mm512_dpbf16_ps(acc[g][c], a, values[c]);
    }
  }
  for (int g = 0; g < G; ++g)
    for (int c = 0; c < NC; ++c)
      _mm512_storeu_ps(out[g] + c0 + 16 * c, _mm512_mul_ps(acc[g][c], _mm512_set1_ps(norm[g])));
}

// Σ row[0, n): in fp32 lanes, then across them (the values are exponentials in (0, 1], one of
// them 1; a sum of a few hundred loses nothing to float). lane_sum's double tail ran as a chain of
// dependent scalar adds per query: a fifth of this kernel's time at 50 keys.
CLIPDEX_TARGET_BF16 inline float sum_probabilities(const float* row, int64_t n) {
  __m512 acc = _mm512_setzero_ps();
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) acc = _mm512_add_ps(acc, _mm512_loadu_ps(row + j));
  if (j < n) acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << (n - j)) - 1), row + j));
  // Across the lanes by halves (GCC 12's _mm512_reduce_add_ps warns of an undefined register).
  const __m256 half = _mm256_add_ps(_mm512_extractf32x8_ps(acc, 0), _mm512_extractf32x8_ps(acc, 1));
  __m128 quarter = _mm_add_ps(_mm256_castps256_ps128(half), _mm256_extractf128_ps(half, 1));
  quarter = _mm_add_ps(quarter, _mm_movehl_ps(quarter, quarter));
  return _mm_cvtss_f32(_mm_add_ss(quarter, _mm_movehdup_ps(quarter)));
}

// Scratch: kt [d/2][lp] key pairs transposed, vv [(keys+1)/2][d] value pairs interleaved (an odd
// last key paired with zeros), scores [kGroup][lp] fp32, then the probabilities as bf16.
struct Scratch {
  uint32_t* kt;
  uint32_t* vv;
  float* scores;
  uint16_t* probabilities;  // [kGroup][lp]
};

CLIPDEX_TARGET_BF16 void pack_keys_and_values(const HeadInputBf16& in, int64_t lp, const Scratch& s) {
  // A key row's d bf16 values are d/2 words; transposing words transposes pairs.
  const int64_t pairs = in.d / 2;
  transpose_keys<16>(reinterpret_cast<const float*>(in.k), in.ldkv / 2, in.keys, pairs,
                     reinterpret_cast<float*>(s.kt), lp);
  // (lo, hi) 16-bit lanes interleaved: index 2i picks a[i], 2i + 1 picks b[i] (32 + i).
  alignas(64) uint16_t index[32];
  for (int i = 0; i < 16; ++i) {
    index[2 * i] = static_cast<uint16_t>(i);
    index[2 * i + 1] = static_cast<uint16_t>(32 + i);
  }
  const __m512i interleave = _mm512_load_si512(index);
  for (int64_t j = 0; j < in.keys; j += 2) {
    const uint16_t* a = in.v + j * in.ldkv;
    const uint16_t* b = j + 1 < in.keys ? in.v + (j + 1) * in.ldkv : nullptr;
    for (int64_t c = 0; c < in.d; c += 16) {
      const __m512i lo = _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + c)));
      const __m512i hi = b ? _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + c)))
                           : _mm512_setzero_si512();
      _mm512_storeu_si512(s.vv + (j / 2) * in.d + c, _mm512_permutex2var_epi16(lo, interleave, hi));
    }
  }
}

// G queries from query i on: scores, softmax, output.
template <int G>
CLIPDEX_TARGET_BF16 void attend_group(const HeadInputBf16& in, int64_t i, int64_t lp, const Scratch& s, float* out,
                                      int64_t ldo) {
  const uint16_t* q[kGroup] = {};
  float* o[kGroup] = {};
  const uint16_t* p[kGroup] = {};
  float norm[kGroup] = {};
  int64_t seen[kGroup] = {};
  for (int g = 0; g < G; ++g) {
    q[g] = in.q + (i + g) * in.ldq;
    o[g] = out + (i + g) * ldo;
    seen[g] = in.causal ? std::min(i + g + 1, in.keys) : in.keys;
  }
  // Scores over the keys the group's last query sees, in blocks of 16 (kt's padding keeps them
  // in bounds; only `seen` count), four blocks at a time.
  const int64_t span = seen[G - 1], blocks = round_up(span, 16) / 16, pairs = in.d / 2;
  int64_t b = 0;
  for (; b + 4 <= blocks; b += 4) score_blocks<G, 4>(q, pairs, s.kt + 16 * b, lp, in.scale, s.scores + 16 * b);
  switch (blocks - b) {
    case 3: score_blocks<G, 3>(q, pairs, s.kt + 16 * b, lp, in.scale, s.scores + 16 * b); break;
    case 2: score_blocks<G, 2>(q, pairs, s.kt + 16 * b, lp, in.scale, s.scores + 16 * b); break;
    case 1: score_blocks<G, 1>(q, pairs, s.kt + 16 * b, lp, in.scale, s.scores + 16 * b); break;
    default: break;
  }
  // Softmax in fp32; probabilities past a query's `seen` (and the pad to an even count) are 0.
  const int64_t value_pairs = (span + 1) / 2;
  for (int g = 0; g < G; ++g) {
    float* row = s.scores + g * lp;
    const float top = lane_max<16>(row, seen[g]);
    for (int64_t j = 0; j < seen[g]; ++j) row[j] = fast_exp(row[j] - top);
    norm[g] = 1.0f / sum_probabilities(row, seen[g]);
    std::fill(row + seen[g], row + 2 * value_pairs, 0.0f);
    uint16_t* bf = s.probabilities + g * lp;
    for (int64_t j = 0; j < 2 * value_pairs; j += 16) {
      const __mmask16 m = static_cast<__mmask16>((1u << std::min<int64_t>(16, 2 * value_pairs - j)) - 1);
      const __m256bh r = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, row + j));
      _mm256_mask_storeu_epi16(bf + j, m, (__m256i)r);
    }
    p[g] = bf;
  }
  int64_t c = 0;
  for (; c + 64 <= in.d; c += 64) output_blocks<G, 4>(p, value_pairs, s.vv, in.d, c, norm, o);
  switch ((in.d - c) / 16) {
    case 3: output_blocks<G, 3>(p, value_pairs, s.vv, in.d, c, norm, o); break;
    case 2: output_blocks<G, 2>(p, value_pairs, s.vv, in.d, c, norm, o); break;
    case 1: output_blocks<G, 1>(p, value_pairs, s.vv, in.d, c, norm, o); break;
    default: break;
  }
}

CLIPDEX_TARGET_BF16 void attend_bf16(const HeadInputBf16& in, float* out, int64_t ldo, std::vector<float>& scratch) {
  const int64_t lp = round_up(in.keys, 16), pairs = in.d / 2, value_pairs = (in.keys + 1) / 2;
  // In 4-byte units: kt, vv, scores, probabilities (2 bytes each, lp per query).
  const auto need = static_cast<size_t>(pairs * lp + value_pairs * in.d + kGroup * lp + kGroup * lp / 2 + 16);
  if (scratch.size() < need) scratch.resize(need);
  float* base = scratch.data();
  const Scratch s{reinterpret_cast<uint32_t*>(base), reinterpret_cast<uint32_t*>(base + pairs * lp),
                  base + pairs * lp + value_pairs * in.d,
                  reinterpret_cast<uint16_t*>(base + pairs * lp + value_pairs * in.d + kGroup * lp)};
  pack_keys_and_values(in, lp, s);
  int64_t i = 0;
  for (; i + kGroup <= in.queries; i += kGroup) attend_group<kGroup>(in, i, lp, s, out, ldo);
  switch (in.queries - i) {
    case 3: attend_group<3>(in, i, lp, s, out, ldo); break;
    case 2: attend_group<2>(in, i, lp, s, out, ldo); break;
    case 1: attend_group<1>(in, i, lp, s, out, ldo); break;
    default: break;
  }
}

}  // namespace

bool attend_head_bf16(const HeadInputBf16& in, float* out, int64_t ldo, std::vector<float>& scratch) {
  if (!cpu_features().avx512_bf16 || in.d % 16 != 0 || in.ldq % 2 != 0 || in.ldkv % 2 != 0) return false;
  if (in.queries > 0 && in.keys > 0) attend_bf16(in, out, ldo, scratch);
  return true;
}

#else

bool attend_head_bf16(const HeadInputBf16&, float*, int64_t, std::vector<float>&) { return false; }

#endif

}  // namespace clipdex::kernels
