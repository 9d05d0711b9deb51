#pragma once
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
