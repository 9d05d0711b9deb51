#pragma once
// One value through an activation: the element form of apply_activation, for loops that fuse it
// with the step that makes the value and the one that stores it (a GEMM's epilogue). Inline: each
// ISA clone of a caller (core/isa_clones.h) gets its own vector code.
#include <algorithm>

#include "kernels/backend.h"
#include "kernels/fast_math.h"

namespace clipdex::kernels {

template <Activation A>
[[gnu::always_inline]] inline float activate(float x) {
  if constexpr (A == Activation::QuickGelu) return x / (1.0f + fast_exp(-1.702f * x));  // x * sigmoid(1.702 x)
  else if constexpr (A == Activation::Gelu) return 0.5f * x * (1.0f + fast_erf(x * 0.70710678118654752f));
  else if constexpr (A == Activation::Relu) return std::max(x, 0.0f);
  else return x;
}

// The same for a value rounded to bf16 next: GELU's erf to bf16's needs (fast_erf_coarse).
template <Activation A>
[[gnu::always_inline]] inline float activate_for_bf16(float x) {
  if constexpr (A == Activation::Gelu) return 0.5f * x * (1.0f + fast_erf_coarse(x * 0.70710678118654752f));
  else return activate<A>(x);
}

}  // namespace clipdex::kernels
