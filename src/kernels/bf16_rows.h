#pragma once
// Bulk fp32 <-> bf16 conversion for activations on the CPU (rounding to nearest even, as
// core/half.h), compiled per ISA level so the loops vectorise; where the CPU converts to bf16
// itself (AVX512_BF16: one instruction per 16 values against ~7 integer steps), through that.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "core/half.h"

namespace clipdex::kernels {

void narrow_to_bf16(const float* in, size_t n, uint16_t* out);
void widen_from_bf16(const uint16_t* in, size_t n, float* out);

// Whether this CPU has AVX512_BF16's conversion (read once).
bool has_bf16_conversion();
// narrow_to_bf16 with that instruction; only where has_bf16_conversion(). It flushes denormal
// inputs (below 1.2e-38) to a zero of their sign, as the instruction does; otherwise the same
// bits as f32_to_bf16.
void narrow_to_bf16_native(const float* in, size_t n, uint16_t* out);

// y[j] = bf16(value(j)) for j < n, for loops that make a value and round it in one pass (GEMM
// epilogues, layer norm). With the CPU's conversion, values are made a chunk at a time into L1
// and the chunk converted at once; otherwise each is rounded as it is made. Inline, so each ISA
// clone of a caller gets its own vector code for `value`.
template <typename Value>
[[gnu::always_inline]] inline void write_bf16_row(int64_t n, uint16_t* y, Value value) {
  if (has_bf16_conversion()) {
    constexpr int64_t kChunk = 512;
    alignas(64) float chunk[kChunk];
    for (int64_t c = 0; c < n; c += kChunk) {
      const int64_t m = std::min(kChunk, n - c);
      for (int64_t j = 0; j < m; ++j) chunk[j] = value(c + j);
      narrow_to_bf16_native(chunk, static_cast<size_t>(m), y + c);
    }
    return;
  }
  for (int64_t j = 0; j < n; ++j) y[j] = f32_to_bf16(value(j));
}

}  // namespace clipdex::kernels
