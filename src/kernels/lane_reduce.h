#pragma once
// Reductions over a row kept in 16 independent lanes, so GCC vectorises them without
// -ffast-math (a single running min / sum is a dependency chain it must keep in order). Inline:
// each ISA clone of a caller (core/isa_clones.h) gets its own vector width.
#include <algorithm>
#include <cstdint>

namespace clipdex::kernels {

constexpr int64_t kLanes = 16;

// lo = min(0, x...), hi = max(0, x...) over x[0, k).
inline void lane_min_max(const float* x, int64_t k, float& lo, float& hi) {
  float l[kLanes] = {}, h[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= k; i += kLanes)
    for (int64_t j = 0; j < kLanes; ++j) {
      l[j] = std::min(l[j], x[i + j]);
      h[j] = std::max(h[j], x[i + j]);
    }
  for (; i < k; ++i) {
    l[0] = std::min(l[0], x[i]);
    h[0] = std::max(h[0], x[i]);
  }
  lo = *std::min_element(l, l + kLanes);
  hi = *std::max_element(h, h + kLanes);
}

// Σ x[i] and Σ (x[i] - shift)², each lane summed in float and the lanes in double.
inline double lane_sum(const float* x, int64_t k) {
  float s[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= k; i += kLanes)
    for (int64_t j = 0; j < kLanes; ++j) s[j] += x[i + j];
  double total = 0.0;
  for (; i < k; ++i) total += x[i];
  for (float v : s) total += v;
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
  double total = 0.0;
  for (; i < k; ++i) total += (x[i] - shift) * (x[i] - shift);
  for (float v : s) total += v;
  return total;
}

}  // namespace clipdex::kernels
