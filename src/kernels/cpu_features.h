#pragma once
// What the CPU at hand offers, read once (cpuid through GCC's builtins and oneDNN's own
// detection). Kernels are picked from this at run time; nothing assumes an ISA at build time.
#include <string>

namespace clipdex::kernels {

struct CpuFeatures {
  std::string model;  // "Intel(R) Xeon(R) ..." from /proc/cpuinfo, or "unknown"
  bool avx2 = false, avx512 = false;
  bool avx512_bf16 = false;  // native bf16 dot products
  bool vnni = false;         // int8 dot products without 16-bit saturation (AVX512-VNNI or AVX-VNNI)
  bool amx = false;          // Sapphire Rapids tile units
  std::string onednn_isa;    // the ISA oneDNN dispatches to
  std::string summary() const;  // "avx512 vnni" etc.
};

const CpuFeatures& cpu_features();

}  // namespace clipdex::kernels
