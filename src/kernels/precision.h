#pragma once
// The numeric precision the towers' matrix products run in, chosen per run.
#include <optional>
#include <string>

namespace clipdex::kernels {

enum class Precision {
  Auto,  // the fastest of fp32 / bf16 on this CPU, measured at load (int8 is never implied)
  Fp32,
  Bf16,  // bf16 weights and GEMM inputs, fp32 accumulation; everything else fp32
  Int8,  // s8 per-channel weights, u8 per-row dynamic activations, s32 accumulation
  Fp16,  // GPUs only: fp16 weights and activations, fp32 accumulation, layer norm and residual stream
};

std::string to_string(Precision p);
std::optional<Precision> parse_precision(const std::string& s);

}  // namespace clipdex::kernels
