#pragma once
// Reductions over a row kept in independent lanes, so GCC vectorises them without -ffast-math (a
// single running min / sum is a dependency chain it must keep in order). Inline: each ISA clone
// of a caller (core/isa_clones.h) gets its own code.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "core/half.h"

namespace clipdex::kernels {

constexpr int64_t kLanes = 16;

// A GCC vector of N floats (the attribute on a typedef that depends on N needs a class template).
template <int N>
struct FloatVector {
  typedef float type __attribute__((vector_size(N * sizeof(float))));
};

// v = N values of x as floats: fp32 as they are, bf16 (uint16_t) widened. (An out parameter: a
// vector return value draws GCC's ABI note off AVX.)
template <int N>
[[gnu::always_inline]] inline void load_lanes(const float* x, typename FloatVector<N>::type& v) {
  std::memcpy(&v, x, sizeof v);
}

template <int N>
struct HalfVector {
  typedef uint16_t type __attribute__((vector_size(N * sizeof(uint16_t))));
  typedef uint32_t wide __attribute__((vector_size(N * sizeof(uint32_t))));
};

template <int N>
[[gnu::always_inline]] inline void load_lanes(const uint16_t* x, typename FloatVector<N>::type& v) {
  typename HalfVector<N>::type h;
  std::memcpy(&h, x, sizeof h);
  const auto bits = __builtin_convertvector(h, typename HalfVector<N>::wide) << 16;
  std::memcpy(&v, &bits, sizeof v);
}

// The N lanes of v folded pairwise by op (halves, then quarters, ...): a chain of log2(N) steps
// where a loop over the lanes is N dependent ones (~50 cycles per row at N = 16, beside ~50
// vector steps for a row of 768). op(a, b, out) takes vectors or floats alike (an out
// parameter: a vector return value draws GCC's ABI note off AVX).
template <int N, typename Op>
[[gnu::always_inline]] inline float fold_lanes(const typename FloatVector<N>::type& v, Op op) {
  if constexpr (N == 1) {
    return v[0];
  } else if constexpr (N == 2) {
    float r;
    op(v[0], v[1], r);
    return r;
  } else {
    typename FloatVector<N / 2>::type a, b, folded;
    std::memcpy(&a, &v, sizeof a);
    std::memcpy(&b, reinterpret_cast<const char*>(&v) + sizeof a, sizeof b);
    op(a, b, folded);
    return fold_lanes<N / 2>(folded, op);
  }
}

struct MinOf {
  template <typename V>
  [[gnu::always_inline]] void operator()(const V& a, const V& b, V& out) const { out = a < b ? a : b; }
};
struct MaxOf {
  template <typename V>
  [[gnu::always_inline]] void operator()(const V& a, const V& b, V& out) const { out = a > b ? a : b; }
};

// Σ of the lanes' float sums in double, pairwise.
inline double fold_sums(const float (&s)[kLanes]) {
  static_assert(kLanes == 16);
  double t[8];
  for (int j = 0; j < 8; ++j) t[j] = static_cast<double>(s[j]) + static_cast<double>(s[j + 8]);
  for (int j = 0; j < 4; ++j) t[j] += t[j + 4];
  return (t[0] + t[2]) + (t[1] + t[3]);
}

inline float lane_value(const float* x, int64_t i) { return x[i]; }
inline float lane_value(const uint16_t* x, int64_t i) { return bf16_to_f32(x[i]); }

// lo = min(0, x...), hi = max(0, x...) over x[0, k) (fp32, or bf16 as uint16_t), in vectors of
// N floats: N must be the width of one register of the caller's ISA (core/isa_clones.h's
// isa_build). Written with GCC vector types: as a loop over lanes GCC left the
// compare-and-select scalar (NaN rules), 7.5% of an int8 forward pass.
template <int N, typename T>
[[gnu::always_inline]] inline void lane_min_max(const T* x, int64_t k, float& lo, float& hi) {
  using Lanes = typename FloatVector<N>::type;
  Lanes l = {}, h = {};
  int64_t i = 0;
  for (; i + N <= k; i += N) {
    Lanes v;
    load_lanes<N>(x + i, v);
    l = v < l ? v : l;
    h = v > h ? v : h;
  }
  lo = fold_lanes<N>(l, MinOf{});  // l and h started at 0: lo <= 0 <= hi
  hi = fold_lanes<N>(h, MaxOf{});
  for (; i < k; ++i) {
    lo = std::min(lo, lane_value(x, i));
    hi = std::max(hi, lane_value(x, i));
  }
}

// max(x[0, k)) for k >= 1 (the same vector-type form as above, N likewise).
template <int N>
[[gnu::always_inline]] inline float lane_max(const float* x, int64_t k) {
  using Lanes = typename FloatVector<N>::type;
  float hi = x[0];
  int64_t i = 0;
  if (k >= N) {
    Lanes h;
    std::memcpy(&h, x, sizeof h);
    for (i = N; i + N <= k; i += N) {
      Lanes v;
      std::memcpy(&v, x + i, sizeof v);
      h = v > h ? v : h;
    }
    hi = fold_lanes<N>(h, MaxOf{});
  }
  for (; i < k; ++i) hi = std::max(hi, x[i]);
  return hi;
}

// Σ x[i] and Σ (x[i] - shift)², each lane summed in float and the lanes in double.
inline double lane_sum(const float* x, int64_t k) {
  float s[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= k; i += kLanes)
    for (int64_t j = 0; j < kLanes; ++j) s[j] += x[i + j];
  double total = fold_sums(s);
  for (; i < k; ++i) total += x[i];
  return total;
}

inline double lane_squared_deviation(const float* x, int64_t k, float shift) {
  float s[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= k; i += kLanes)
    for (int64_t j = 0; j < kLanes; ++j) {
      const float d = x[i + j] - shift;
      s[j] += d * d;
    }
  double total = fold_sums(s);
  for (; i < k; ++i) total += (x[i] - shift) * (x[i] - shift);
  return total;
}

}  // namespace clipdex::kernels
