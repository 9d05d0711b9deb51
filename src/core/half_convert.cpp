// Bulk fp16 -> fp32 conversion: the F16C instruction where the CPU has it (chosen at run time,
// so the build stays portable), the exact scalar conversion otherwise. Both are exact.
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

}  // namespace

void f16_to_f32_array(const uint8_t* src, float* dst, size_t n) {
  static const bool has_f16c = __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx");
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
