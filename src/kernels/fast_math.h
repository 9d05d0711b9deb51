#pragma once
// Branch-free float approximations that GCC vectorises (std::exp / std::erf are scalar libm
// calls). Accuracy is within a few ulp of libm over the range the model produces, which keeps
// fp32 parity with PyTorch (see tests/test_kernels.cpp).
#include <bit>
#include <cmath>
#include <cstdint>

namespace clipdex::kernels {

// e^x: Cody–Waite reduction x = n ln2 + r, |r| <= ln2/2, degree-6 Taylor polynomial for e^r
// (relative error ~1e-7), scaled by 2^n built in the exponent bits. Saturates outside
// [-87.3, 88.3] to the float range's ends instead of producing inf or denormals.
[[gnu::always_inline]] inline float fast_exp(float x) {
  x = x < -87.3f ? -87.3f : x;
  x = x > 88.3f ? 88.3f : x;
  // Adding 1.5 * 2^23 rounds to the nearest integer and leaves it in the low mantissa bits.
  const float shifted = x * 1.44269504088896341f + 12582912.0f;
  const float n = shifted - 12582912.0f;
  float r = x - n * 0.693145751953125f;  // ln 2, high part: n * it is exact
  r = r - n * 1.428606765330187e-06f;    // ln 2, low part
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (std::bit_cast<int32_t>(shifted) - 0x4B400000 + 127) << 23;
  return p * std::bit_cast<float>(bits);
}

// erf(x): Abramowitz & Stegun 7.1.26 (absolute error <= 1.5e-7), odd extension.
[[gnu::always_inline]] inline float fast_erf(float x) {
  const float a = std::fabs(x);
  const float t = 1.0f / (1.0f + 0.3275911f * a);
  float p = 1.061405429f;
  p = p * t - 1.453152027f;
  p = p * t + 1.421413741f;
  p = p * t - 0.284496736f;
  p = p * t + 0.254829592f;
  const float y = 1.0f - p * t * fast_exp(-a * a);
  return std::copysign(y, x);
}

}  // namespace clipdex::kernels
