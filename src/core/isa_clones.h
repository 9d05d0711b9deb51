#pragma once
// Marks a hot loop to be compiled once per x86-64 ISA level (AVX-512, AVX2, baseline); the loader
// picks the clone for the CPU it runs on (GCC target_clones, resolved through an ifunc). Elsewhere
// (clang's fuzz builds, other architectures) it compiles once for the baseline.
#if defined(__x86_64__) && !defined(__clang__)
#define CLIPDEX_ISA_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CLIPDEX_ISA_CLONES
#endif
