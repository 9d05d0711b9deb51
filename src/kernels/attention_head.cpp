// One attention head as sums of scaled rows: with the keys transposed once per head, a query's
// scores are Σ_t q[t] · Kᵀ[t, :] and its output Σ_j p[j] · V[j, :], both accumulated over
// blocks of 64 columns held in registers, then 16, then the rest. Compiled per ISA level.
#include "kernels/attention_head.h"

#include <algorithm>
#include <cstring>

#include "core/isa_clones.h"
#include "kernels/fast_math.h"
#include "kernels/lane_reduce.h"

namespace clipdex::kernels {
namespace {

typedef float Lanes __attribute__((vector_size(16 * sizeof(float))));

// out[0, W) = alpha · Σ_t a[t] · b[t * ldb + (0, W)], W a multiple of 16. Written with GCC
// vector types so the sums stay in registers (as a plain loop GCC unrolled it and kept them on
// the stack); even and odd t go to separate sums, so 2 x W / 16 multiply-add chains run at once
// (W / 16 alone waited on the FMA latency). Each ISA clone of the caller lowers the vectors to
// its own width.
template <int W>
[[gnu::always_inline]] inline void scaled_row_sum(const float* a, int64_t n, const float* b, int64_t ldb, float alpha,
                                                  float* out) {
  constexpr int kVectors = W / 16;
  Lanes even[kVectors] = {}, odd[kVectors] = {};
  int64_t t = 0;
  for (; t + 2 <= n; t += 2) {
    const float a0 = a[t], a1 = a[t + 1];
    const float* b0 = b + t * ldb;
    const float* b1 = b0 + ldb;
    for (int v = 0; v < kVectors; ++v) {
      Lanes x0, x1;
      std::memcpy(&x0, b0 + 16 * v, sizeof x0);
      std::memcpy(&x1, b1 + 16 * v, sizeof x1);
      even[v] += a0 * x0;
      odd[v] += a1 * x1;
    }
  }
  if (t < n)
    for (int v = 0; v < kVectors; ++v) {
      Lanes x;
      std::memcpy(&x, b + t * ldb + 16 * v, sizeof x);
      even[v] += a[t] * x;
    }
  for (int v = 0; v < kVectors; ++v) {
    const Lanes scaled = (even[v] + odd[v]) * alpha;
    std::memcpy(out + 16 * v, &scaled, sizeof scaled);
  }
}

// The same over `width` columns. Inlined into each ISA clone of the caller (as a call it was
// compiled once, for the baseline).
[[gnu::always_inline]] inline void scaled_rows_sum(const float* a, int64_t n, const float* b, int64_t ldb,
                                                   int64_t width, float alpha, float* out) {
  int64_t c = 0;
  for (; c + 64 <= width; c += 64) scaled_row_sum<64>(a, n, b + c, ldb, alpha, out + c);
  for (; c + 16 <= width; c += 16) scaled_row_sum<16>(a, n, b + c, ldb, alpha, out + c);
  if (c == width) return;
  const int64_t rest = width - c;  // < 16: b's row may end right after it
  float acc[16] = {};
  for (int64_t t = 0; t < n; ++t)
    for (int64_t j = 0; j < rest; ++j) acc[j] += a[t] * b[t * ldb + c + j];
  for (int64_t j = 0; j < rest; ++j) out[c + j] = acc[j] * alpha;
}

int64_t round_up16(int64_t n) { return (n + 15) / 16 * 16; }

// Swaps the off-diagonal B x B blocks of each 2B x 2B block between rows top and bottom (a
// shuffle index >= 16 picks from bottom). Applied to row pairs (i, i + B) for B = 8, 4, 2, 1 it
// transposes 16 x 16.
template <int B>
[[gnu::always_inline]] inline void swap_blocks(Lanes& top, Lanes& bottom) {
  const Lanes t = top, u = bottom;
  if constexpr (B == 8) {
    top = __builtin_shufflevector(t, u, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
    bottom = __builtin_shufflevector(t, u, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
  } else if constexpr (B == 4) {
    top = __builtin_shufflevector(t, u, 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27);
    bottom = __builtin_shufflevector(t, u, 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
  } else if constexpr (B == 2) {
    top = __builtin_shufflevector(t, u, 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29);
    bottom = __builtin_shufflevector(t, u, 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31);
  } else {
    static_assert(B == 1);
    top = __builtin_shufflevector(t, u, 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30);
    bottom = __builtin_shufflevector(t, u, 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31);
  }
}

template <int B>
[[gnu::always_inline]] inline void swap_all_blocks(Lanes* r) {
  for (int i = 0; i < 16; ++i)
    if (i % (2 * B) < B) swap_blocks<B>(r[i], r[i + B]);
}

// kt[t * lp + j] = k[j * ldk + t] for j < keys, t < d: 16 x 16 tiles through vector shuffles
// (as scalar stores the transpose took a fifth of the head's time), the ragged edges plainly.
[[gnu::always_inline]] inline void transpose_keys(const float* k, int64_t ldk, int64_t keys, int64_t d, float* kt,
                                                  int64_t lp) {
  const int64_t full_keys = keys / 16 * 16, full_d = d / 16 * 16;
  for (int64_t j0 = 0; j0 < full_keys; j0 += 16)
    for (int64_t t0 = 0; t0 < full_d; t0 += 16) {
      Lanes r[16];
      for (int i = 0; i < 16; ++i) std::memcpy(&r[i], k + (j0 + i) * ldk + t0, sizeof(Lanes));
      swap_all_blocks<8>(r);
      swap_all_blocks<4>(r);
      swap_all_blocks<2>(r);
      swap_all_blocks<1>(r);
      for (int i = 0; i < 16; ++i) std::memcpy(kt + (t0 + i) * lp + j0, &r[i], sizeof(Lanes));
    }
  for (int64_t j = 0; j < keys; ++j)
    for (int64_t t = j < full_keys ? full_d : 0; t < d; ++t) kt[t * lp + j] = k[j * ldk + t];
}

// Scratch: kt [d, lp] with lp = round_up16(keys), scores [lp], and the values packed [keys, d]
// (in place their rows lie 3 x width apart, which the cache holds poorly).
CLIPDEX_ISA_CLONES void attend(const HeadInput& in, float* scratch, int64_t lp, float* out, int64_t ldo) {
  float* kt = scratch;
  float* scores = kt + in.d * lp;
  float* values = scores + lp;
  transpose_keys(in.k, in.ldkv, in.keys, in.d, kt, lp);
  for (int64_t j = 0; j < in.keys; ++j) std::memcpy(values + j * in.d, in.v + j * in.ldkv, in.d * sizeof(float));
  for (int64_t i = 0; i < in.queries; ++i) {
    const int64_t seen = in.causal ? std::min(i + 1, in.keys) : in.keys;
    // Whole blocks of 16 scores (kt's padding keeps them in bounds); only `seen` count.
    scaled_rows_sum(in.q + i * in.ldq, in.d, kt, lp, round_up16(seen), in.scale, scores);
    const float top = lane_max(scores, seen);
    for (int64_t j = 0; j < seen; ++j) scores[j] = fast_exp(scores[j] - top);
    const auto total = static_cast<float>(lane_sum(scores, seen));
    scaled_rows_sum(scores, seen, values, in.d, in.d, 1.0f / total, out + i * ldo);
  }
}

}  // namespace

void attend_head(const HeadInput& in, float* out, int64_t ldo, std::vector<float>& scratch) {
  if (in.queries <= 0 || in.keys <= 0) return;
  const int64_t lp = round_up16(in.keys);
  // Past the keys kt holds zeros or an earlier head's values: their scores are never used.
  const auto need = static_cast<size_t>((in.d + 1) * lp + in.keys * in.d);
  if (scratch.size() < need) scratch.resize(need);
  attend(in, scratch.data(), lp, out, ldo);
}

}  // namespace clipdex::kernels
