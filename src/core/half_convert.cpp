// Bulk fp16 -> fp32 conversion: the F16C instruction where the CPU has it (chosen at run time,
// so the build stays portable), the exact scalar conversion otherwise. Both are exact.
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
