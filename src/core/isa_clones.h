#pragma once
#include "core/error.h"

// Marks a hot loop to be compiled once per x86-64 ISA level (x86-64-v4: AVX-512; x86-64-v3: AVX2
// with FMA; baseline); the loader picks the clone for the CPU it runs on (GCC target_clones,
// resolved through an ifunc). The levels, not single features: a plain "avx2" clone has no FMA,
// so an AVX2-only CPU (Zen 3) ran every multiply-add of these loops as two instructions.
// Elsewhere (clang's fuzz builds, other architectures) it compiles once for the baseline.
#if defined(__x86_64__) && !defined(__clang__)
#define CLIPDEX_ISA_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CLIPDEX_ISA_CLONES
#endif

// Where a loop's vector width must follow the ISA (GCC vector types, whose width one source
// fixes: a 16-float vector on an AVX2 CPU became register pairs and spills, 20-45x slower), it is
// written as a template on the width and compiled once per level with these attributes, and
// isa_build picks the one to call.
#if defined(__x86_64__) && !defined(__clang__)
#define CLIPDEX_TARGET_V4 __attribute__((target("arch=x86-64-v4")))
#define CLIPDEX_TARGET_V3 __attribute__((target("arch=x86-64-v3")))
#else
#define CLIPDEX_TARGET_V4
#define CLIPDEX_TARGET_V3
#endif

namespace clipdex {

// The widest x86-64 level this CPU runs: 4 (AVX-512), 3 (AVX2 with FMA) or 1 (the baseline, and
// every build without the levels above).
inline int cpu_isa_level() {
#if defined(__x86_64__) && !defined(__clang__)
  static const int level = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("x86-64-v4") ? 4 : __builtin_cpu_supports("x86-64-v3") ? 3 : 1;
  }();
  return level;
#else
  return 1;
#endif
}

// The one of a function's per-level builds (CLIPDEX_TARGET_V4 / _V3 / none) to run: level 0 the
// widest this CPU has, 4, 3 or 1 that level's (the tests check each level the CPU has).
// InputError where the CPU cannot run the level asked for.
template <typename Fn>
Fn isa_build(int level, Fn v4, Fn v3, Fn baseline) {
  if (level == 0) level = cpu_isa_level();
  if (level > cpu_isa_level()) throw_input("this CPU does not run x86-64 level {}", level);
  return level >= 4 ? v4 : level >= 3 ? v3 : baseline;
}

}  // namespace clipdex
