#pragma once
// Bulk fp32 <-> bf16 conversion for activations on the CPU (rounding to nearest even, as
// core/half.h), compiled per ISA level so the loops vectorise.
#include <cstddef>
#include <cstdint>

namespace clipdex::kernels {

void narrow_to_bf16(const float* in, size_t n, uint16_t* out);
void widen_from_bf16(const uint16_t* in, size_t n, float* out);

}  // namespace clipdex::kernels
