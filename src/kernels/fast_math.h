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

// Abramowitz & Stegun 7.1.28's polynomial, 1 + a1 a + ... + a6 a^6 (a = |x|), raised to the 16th.
[[gnu::always_inline]] inline float erf_denominator(float a) {
  float p = 0.0000430638f;
  p = p * a + 0.0002765672f;
  p = p * a + 0.0001520143f;
  p = p * a + 0.0092705272f;
  p = p * a + 0.0422820123f;
  p = p * a + 0.0705230784f;
  p = p * a + 1.0f;
  p = p * p;
  p = p * p;
  p = p * p;
  return p * p;
}

// erf(x) to 1.7e-6 absolute: 7.1.28 at every x, whose 1 - p^-16 loses that much to
// cancellation near 0. For values about to be rounded to bf16 (a unit there is 2^-8 of the
// value): no Taylor branch, 21% less time per GELU than fast_erf (Zen 5, AVX-512), and GELU then
// rounds to the same bf16 as with fast_erf for all but ~1 value in 65,000 (one unit apart).
[[gnu::always_inline]] inline float fast_erf_coarse(float x) {
  return std::copysign(1.0f - 1.0f / erf_denominator(std::fabs(x)), x);
}

// erf(x), odd extension: for |x| >= 0.5 Abramowitz & Stegun 7.1.28, 1 - (1 + a1 x + ... + a6 x^6)^-16
// (absolute error <= 3e-7: no exp or division beyond one reciprocal); below 0.5 the Taylor series
// to x^11 (there 1 - 1/p^16 cancels: float rounding alone cost 1.5e-6). Max error 9.3e-7 in
// float. GELU 0.31 -> 0.24 ns per value against 7.1.26 with its exp (Zen 5, AVX-512); p^16
// overflows to inf for huge |x|, which leaves erf exactly 1.
[[gnu::always_inline]] inline float fast_erf(float x) {
  const float a = std::fabs(x);
  const float far = 1.0f - 1.0f / erf_denominator(a);
  const float s = a * a;  // 2/sqrt(pi) (a - a^3/3 + a^5/10 - a^7/42 + a^9/216 - a^11/1320)
  float t = -1.0f / 1320.0f;
  t = t * s + 1.0f / 216.0f;
  t = t * s - 1.0f / 42.0f;
  t = t * s + 0.1f;
  t = t * s - 1.0f / 3.0f;
  t = t * s + 1.0f;
  const float near = 1.12837916709551257f * a * t;
  return std::copysign(a < 0.5f ? near : far, x);
}

}  // namespace clipdex::kernels
