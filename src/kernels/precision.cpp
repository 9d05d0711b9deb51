#include "kernels/precision.h"

namespace clipdex::kernels {

std::string to_string(Precision p) {
  switch (p) {
    case Precision::Auto: return "auto";
    case Precision::Fp32: return "fp32";
    case Precision::Bf16: return "bf16";
    case Precision::Int8: return "int8";
    case Precision::Fp16: return "fp16";
  }
  return "?";
}

std::optional<Precision> parse_precision(const std::string& s) {
  for (auto p : {Precision::Auto, Precision::Fp32, Precision::Bf16, Precision::Int8, Precision::Fp16})
    if (s == to_string(p)) return p;
  return std::nullopt;
}

}  // namespace clipdex::kernels
