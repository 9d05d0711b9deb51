#pragma once
// Reductions over a row kept in 16 independent lanes, so GCC vectorises them without
// -ffast-math (a single running min / sum is a dependency chain it must keep in order). Inline:
// each ISA clone of a caller (core/isa_clones.h) gets its own vector width.
#include <algorithm>
#include <cstdint>
#include <cstring>

namespace clipdex::kernels {

constexpr int64_t kLanes = 16;

// lo = min(0, x...), hi = max(0, x...) over x[0, k). Written with GCC vector types: as a loop
// over lanes GCC left the compare-and-select scalar (NaN rules), 7.5% of an int8 forward pass.
inline void lane_min_max(const float* x, int64_t k, float& lo, float& hi) {
  typedef float Lanes __attribute__((vector_size(kLanes * sizeof(float))));
  Lanes l = {}, h = {};
  int64_t i = 0;
  for (; i + kLanes <= k; i += kLanes) {
    Lanes v;
    std::memcpy(&v, x + i, sizeof v);
    l = v < l ? v : l;
    h = v > h ? v : h;
  }
  lo = 0.0f;
  hi = 0.0f;
  for (int64_t j = 0; j < kLanes; ++j) {
    lo = std::min(lo, l[j]);
    hi = std::max(hi, h[j]);
  }
  for (; i < k; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
}

// max(x[0, k)) for k >= 1 (the same vector-type form as above).
inline float lane_max(const float* x, int64_t k) {
  typedef float Lanes __attribute__((vector_size(kLanes * sizeof(float))));
  float hi = x[0];
  int64_t i = 0;
  if (k >= kLanes) {
    Lanes h;
    std::memcpy(&h, x, sizeof h);
    for (i = kLanes; i + kLanes <= k; i += kLanes) {
      Lanes v;
      std::memcpy(&v, x + i, sizeof v);
      h = v > h ? v : h;
    }
    for (int64_t j = 0; j < kLanes; ++j) hi = std::max(hi, h[j]);
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
