// Bulk fp16 <-> fp32 conversion: the F16C instruction where the CPU has it (chosen at run time,
// so the build stays portable), the exact scalar conversion otherwise. Both are exact upward and
// round to nearest even downward.
#include <cpuid.h>
#include <immintrin.h>

#include <cstring>

#include "core/half.h"

namespace clipdex {
namespace {

__attribute__((target("avx,f16c"))) void convert_f16c(const uint8_t* src, float* dst, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i));
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
  }
  for (; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, src + 2 * i, 2);
    dst[i] = f16_to_f32(h);
  }
}

__attribute__((target("avx,f16c"))) void narrow_f16c(const float* src, uint16_t* dst, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  for (; i < n; ++i) dst[i] = f32_to_f16(src[i]);
}

// F16C and AVX present, and the OS saves YMM registers (XCR0 bits 1 and 2).
bool cpu_has_f16c() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  if (!(c & bit_F16C) || !(c & bit_AVX) || !(c & bit_OSXSAVE)) return false;
  unsigned lo = 0, hi = 0;
  __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (lo & 6u) == 6u;
}

}  // namespace

void f32_to_f16_array(const float* src, uint16_t* dst, size_t n) {
  static const bool has_f16c = cpu_has_f16c();
  if (has_f16c) return narrow_f16c(src, dst, n);
  for (size_t i = 0; i < n; ++i) dst[i] = f32_to_f16(src[i]);
}

void f16_to_f32_array(const uint8_t* src, float* dst, size_t n) {
  static const bool has_f16c = cpu_has_f16c();
  if (has_f16c) {
    convert_f16c(src, dst, n);
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, src + 2 * i, 2);
    dst[i] = f16_to_f32(h);
  }
}

}  // namespace clipdex
