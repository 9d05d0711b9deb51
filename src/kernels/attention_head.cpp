// One attention head as sums of scaled rows: with the keys transposed once per head, a query's
// scores are Σ_t q[t] · Kᵀ[t, :] and its output Σ_j p[j] · V[j, :], accumulated over blocks of
// columns held in registers, four queries at a time.
//
// Written with GCC vector types of N floats, N the width of one register of the ISA: 16 with
// AVX-512, 8 with AVX2, 4 for the SSE2 baseline. One width for all (as the other kernels' target
// clones have it) failed off AVX-512: GCC kept wider vectors as several registers and spilled
// the sums. A ViT-B/32 head (50 x 64, -O3, Zen 5, each form forced): 6.1 us with AVX-512, 9.7
// with AVX2, 22 with SSE2 (15 and 30 before the softmax's exp vectorised there: kernels/
// CMakeLists.txt) — where the single-width kernel before it took 172 us with AVX2 (10 with
// AVX-512).
#include "kernels/attention_head.h"

#include <algorithm>
#include <cstring>

#include "core/isa_clones.h"
#include "kernels/fast_math.h"
#include "kernels/lane_reduce.h"
#include "kernels/tile_transpose.h"

namespace clipdex::kernels {
namespace {

// out[0, W) = alpha · Σ_t a[t] · b[t * ldb + (0, W)], W a multiple of N. Even and odd t go to
// separate sums, so 2 x W / N multiply-add chains run at once (W / N alone waited on the FMA
// latency); the sums stay in registers (as a plain loop GCC kept them on the stack).
template <int N, int W>
[[gnu::always_inline]] inline void scaled_row_sum(const float* a, int64_t n, const float* b, int64_t ldb, float alpha,
                                                  float* out) {
  using V = typename FloatVector<N>::type;
  constexpr int kVectors = W / N;
  V even[kVectors] = {}, odd[kVectors] = {};
  int64_t t = 0;
  for (; t + 2 <= n; t += 2) {
    const float a0 = a[t], a1 = a[t + 1];
    const float* b0 = b + t * ldb;
    const float* b1 = b0 + ldb;
    for (int v = 0; v < kVectors; ++v) {
      V x0, x1;
      std::memcpy(&x0, b0 + N * v, sizeof x0);
      std::memcpy(&x1, b1 + N * v, sizeof x1);
      even[v] += a0 * x0;
      odd[v] += a1 * x1;
    }
  }
  if (t < n)
    for (int v = 0; v < kVectors; ++v) {
      V x;
      std::memcpy(&x, b + t * ldb + N * v, sizeof x);
      even[v] += a[t] * x;
    }
  for (int v = 0; v < kVectors; ++v) {
    const V scaled = (even[v] + odd[v]) * alpha;
    std::memcpy(out + N * v, &scaled, sizeof scaled);
  }
}

// The same over `width` columns: blocks of 4N, then N, then the rest.
template <int N>
[[gnu::always_inline]] inline void scaled_rows_sum(const float* a, int64_t n, const float* b, int64_t ldb,
                                                   int64_t width, float alpha, float* out) {
  int64_t c = 0;
  for (; c + 4 * N <= width; c += 4 * N) scaled_row_sum<N, 4 * N>(a, n, b + c, ldb, alpha, out + c);
  for (; c + N <= width; c += N) scaled_row_sum<N, N>(a, n, b + c, ldb, alpha, out + c);
  if (c == width) return;
  const int64_t rest = width - c;  // < N: b's row may end right after it
  float acc[N] = {};
  for (int64_t t = 0; t < n; ++t)
    for (int64_t j = 0; j < rest; ++j) acc[j] += a[t] * b[t * ldb + c + j];
  for (int64_t j = 0; j < rest; ++j) out[c + j] = acc[j] * alpha;
}

// The same for Q rows of a at once, 2N columns at a time: each row of b loaded feeds all Q sums
// (one query at a time, attention did one multiply-add per load); Q x 2 sums are the chains.
template <int N, int Q>
[[gnu::always_inline]] inline void scaled_rows_sums(const float* const (&a)[Q], int64_t n, const float* b, int64_t ldb,
                                                    int64_t width, const float (&alpha)[Q], float* const (&out)[Q]) {
  using V = typename FloatVector<N>::type;
  int64_t c = 0;
  for (; c + 2 * N <= width; c += 2 * N) {
    V acc[Q][2] = {};
    for (int64_t t = 0; t < n; ++t) {
      V x0, x1;
      std::memcpy(&x0, b + t * ldb + c, sizeof x0);
      std::memcpy(&x1, b + t * ldb + c + N, sizeof x1);
      for (int q = 0; q < Q; ++q) {
        acc[q][0] += a[q][t] * x0;
        acc[q][1] += a[q][t] * x1;
      }
    }
    for (int q = 0; q < Q; ++q) {
      const V lo = acc[q][0] * alpha[q], hi = acc[q][1] * alpha[q];
      std::memcpy(out[q] + c, &lo, sizeof lo);
      std::memcpy(out[q] + c + N, &hi, sizeof hi);
    }
  }
  if (c < width)
    for (int q = 0; q < Q; ++q) scaled_rows_sum<N>(a[q], n, b + c, ldb, width - c, alpha[q], out[q] + c);
}

int64_t round_up16(int64_t n) { return (n + 15) / 16 * 16; }

constexpr int kQueryGroup = 4;  // queries attended together

// Scratch: kt [d, lp] with lp = round_up16(keys), scores [kQueryGroup, lp], and the values
// packed [keys, d] (in place their rows lie 3 x width apart, which the cache holds poorly).
template <int N>
[[gnu::always_inline]] inline void attend(const HeadInput& in, float* scratch, int64_t lp, float* out, int64_t ldo) {
  float* kt = scratch;
  float* scores = kt + in.d * lp;
  float* values = scores + kQueryGroup * lp;
  transpose_keys<N>(in.k, in.ldkv, in.keys, in.d, kt, lp);
  for (int64_t j = 0; j < in.keys; ++j) std::memcpy(values + j * in.d, in.v + j * in.ldkv, in.d * sizeof(float));
  int64_t i = 0;
  // Groups of queries: scores over the keys the group's last query sees (a causal group's
  // earlier queries see fewer: their extra probabilities are set to zero).
  for (; i + kQueryGroup <= in.queries; i += kQueryGroup) {
    const float* q[kQueryGroup];
    const float* probabilities[kQueryGroup];
    float* p[kQueryGroup];
    float* o[kQueryGroup];
    float scale[kQueryGroup], norm[kQueryGroup];
    int64_t seen[kQueryGroup];
    for (int g = 0; g < kQueryGroup; ++g) {
      q[g] = in.q + (i + g) * in.ldq;
      p[g] = scores + g * lp;
      probabilities[g] = p[g];
      o[g] = out + (i + g) * ldo;
      scale[g] = in.scale;
      seen[g] = in.causal ? std::min(i + g + 1, in.keys) : in.keys;
    }
    const int64_t span = seen[kQueryGroup - 1];
    // Whole blocks of 16 scores (kt's padding keeps them in bounds); only `seen` count.
    scaled_rows_sums<N, kQueryGroup>(q, in.d, kt, lp, round_up16(span), scale, p);
    for (int g = 0; g < kQueryGroup; ++g) {
      const float top = lane_max<N>(p[g], seen[g]);
      for (int64_t j = 0; j < seen[g]; ++j) p[g][j] = fast_exp(p[g][j] - top);
      norm[g] = 1.0f / static_cast<float>(lane_sum(p[g], seen[g]));
      std::fill(p[g] + seen[g], p[g] + span, 0.0f);
    }
    scaled_rows_sums<N, kQueryGroup>(probabilities, span, values, in.d, in.d, norm, o);
  }
  for (; i < in.queries; ++i) {
    const int64_t seen = in.causal ? std::min(i + 1, in.keys) : in.keys;
    scaled_rows_sum<N>(in.q + i * in.ldq, in.d, kt, lp, round_up16(seen), in.scale, scores);
    const float top = lane_max<N>(scores, seen);
    for (int64_t j = 0; j < seen; ++j) scores[j] = fast_exp(scores[j] - top);
    const auto total = static_cast<float>(lane_sum(scores, seen));
    scaled_rows_sum<N>(scores, seen, values, in.d, in.d, 1.0f / total, out + i * ldo);
  }
}

using AttendFn = void (*)(const HeadInput&, float*, int64_t, float*, int64_t);

void attend_baseline(const HeadInput& in, float* scratch, int64_t lp, float* out, int64_t ldo) {
  attend<4>(in, scratch, lp, out, ldo);
}
CLIPDEX_TARGET_V4 void attend_v4(const HeadInput& in, float* scratch, int64_t lp, float* out, int64_t ldo) {
  attend<16>(in, scratch, lp, out, ldo);
}
CLIPDEX_TARGET_V3 void attend_v3(const HeadInput& in, float* scratch, int64_t lp, float* out, int64_t ldo) {
  attend<8>(in, scratch, lp, out, ldo);
}

}  // namespace

void attend_head(const HeadInput& in, float* out, int64_t ldo, std::vector<float>& scratch, int isa_level) {
  if (in.queries <= 0 || in.keys <= 0) return;
  const AttendFn attend_fn = isa_build<AttendFn>(isa_level, attend_v4, attend_v3, attend_baseline);
  const int64_t lp = round_up16(in.keys);
  // Past the keys kt holds zeros or an earlier head's values: their scores are never used.
  const auto need = static_cast<size_t>((in.d + kQueryGroup) * lp + in.keys * in.d);
  if (scratch.size() < need) scratch.resize(need);
  attend_fn(in, scratch.data(), lp, out, ldo);
}

}  // namespace clipdex::kernels
