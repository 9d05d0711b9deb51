#pragma once
// Dynamic activation quantisation for the int8 matmuls, and the epilogue that undoes it.
#include <cstdint>

#include "kernels/backend.h"

namespace clipdex::kernels {

// Row r of x [rows, k] -> q = round(x / scale) + zero in [0, levels], with scale and zero chosen so
// the row's range (widened to include 0) maps onto [0, levels] and 0 is exact.
// isa_level: 0 runs the widest build this CPU has; 4, 3 or 1 that x86-64 level's (the tests
// check each one the CPU has; InputError where it has not).
void quantize_rows_u8(const float* x, int64_t rows, int64_t k, float levels, uint8_t* q, float* scale, int32_t* zero,
                      int isa_level = 0);

// The same from bf16 rows (uint16_t): as quantising the rows widened to fp32.
void quantize_rows_u8(const uint16_t* x_bf16, int64_t rows, int64_t k, float levels, uint8_t* q, float* scale,
                      int32_t* zero, int isa_level = 0);

// w[0, k) -> q = round(w / scale) in [-levels, levels], scale = max|w| / levels; sum = Σ q.
void quantize_row_s8(const float* w, int64_t k, float levels, int8_t* q, float& scale, int32_t& sum,
                     int isa_level = 0);

// y[j] = (acc[j] - zero * column_sum[j]) * (row_scale * weight_scale[j]) + bias[j] (bias may be
// null); with `accumulate`, y[j] += the same (the residual add, in the same pass).
void dequantize_row(const int32_t* acc, int64_t n, int32_t zero, float row_scale, const int32_t* column_sum,
                    const float* weight_scale, const float* bias, float* y, bool accumulate = false);

// The same without accumulate, then the activation, rounded into bf16 y: one pass (a separate
// dequantise, activation and rounding pass each went over the row).
void dequantize_row_bf16(const int32_t* acc, int64_t n, int32_t zero, float row_scale, const int32_t* column_sum,
                         const float* weight_scale, const float* bias, Activation act, uint16_t* y);

}  // namespace clipdex::kernels
