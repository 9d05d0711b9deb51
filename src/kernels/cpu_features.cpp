#include "kernels/cpu_features.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <fstream>

namespace clipdex::kernels {
namespace {

std::string read_cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  return "unknown";
}

std::string isa_name(dnnl::cpu_isa isa) {
  using dnnl::cpu_isa;
  switch (isa) {
    case cpu_isa::sse41: return "sse41";
    case cpu_isa::avx: return "avx";
    case cpu_isa::avx2: return "avx2";
    case cpu_isa::avx2_vnni: return "avx2_vnni";
    case cpu_isa::avx512_core: return "avx512_core";
    case cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}

CpuFeatures detect() {
  CpuFeatures f;
  f.model = read_cpu_model();
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  f.onednn_isa = isa_name(isa);
#if defined(__x86_64__)
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2");
  f.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
#endif
  // oneDNN's ISA levels nest: each one named here includes the features below it.
  f.avx512_bf16 = isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
  f.amx = isa == dnnl::cpu_isa::avx512_core_amx;
  f.vnni = f.avx512_bf16 || isa == dnnl::cpu_isa::avx512_core_vnni || isa == dnnl::cpu_isa::avx2_vnni;
  return f;
}

}  // namespace

std::string CpuFeatures::summary() const {
  std::string s = avx512 ? "avx512" : avx2 ? "avx2" : "sse";
  if (vnni) s += " vnni";
  if (avx512_bf16) s += " avx512_bf16";
  if (amx) s += " amx";
  return s;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

}  // namespace clipdex::kernels
