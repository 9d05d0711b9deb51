#include "kernels/bf16_rows.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "core/isa_clones.h"
#include "kernels/cpu_features.h"

namespace clipdex::kernels {

bool has_bf16_conversion() {
  static const bool has = cpu_features().avx512_bf16;
  return has;
}

namespace {

// The baseline build left these scalar (4.5% of a bf16 forward pass when it converted every
// GEMM input).
CLIPDEX_ISA_CLONES void narrow_portable(const float* in, size_t n, uint16_t* out) {
  for (size_t i = 0; i < n; ++i) out[i] = f32_to_bf16(in[i]);
}

}  // namespace

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) void narrow_to_bf16_native(const float* in, size_t n,
                                                                                          uint16_t* out) {
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512bh both = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(in + i + 16), _mm512_loadu_ps(in + i));
    _mm512_storeu_si512(out + i, (__m512i)both);
  }
  for (; i < n; i += 16) {
    const auto m = static_cast<__mmask16>((1u << std::min<size_t>(16, n - i)) - 1);
    _mm256_mask_storeu_epi16(out + i, m, (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, in + i)));
  }
}
#else
void narrow_to_bf16_native(const float* in, size_t n, uint16_t* out) { narrow_portable(in, n, out); }
#endif

void narrow_to_bf16(const float* in, size_t n, uint16_t* out) {
  if (has_bf16_conversion()) return narrow_to_bf16_native(in, n, out);
  narrow_portable(in, n, out);
}

CLIPDEX_ISA_CLONES void widen_from_bf16(const uint16_t* in, size_t n, float* out) {
  for (size_t i = 0; i < n; ++i) out[i] = bf16_to_f32(in[i]);
}

}  // namespace clipdex::kernels
