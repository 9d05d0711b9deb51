// Element-wise activations, compiled once per ISA level and chosen by the
// loader at run time (GCC target_clones: an ifunc resolved on the CPU the program runs on),
// so one binary runs AVX-512 on a server and SSE2 on anything older.
#include <algorithm>

#include "kernels/backend.h"
#include "kernels/fast_math.h"
#include "core/isa_clones.h"


namespace clipdex::kernels {
namespace {

CLIPDEX_ISA_CLONES void quick_gelu(float* x, int64_t n) {  // x * sigmoid(1.702 x), OpenAI CLIP
  for (int64_t i = 0; i < n; ++i) x[i] = x[i] / (1.0f + fast_exp(-1.702f * x[i]));
}

CLIPDEX_ISA_CLONES void gelu(float* x, int64_t n) {  // exact-erf GELU, torch.nn.GELU()
  for (int64_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + fast_erf(x[i] * 0.70710678118654752f));
}

CLIPDEX_ISA_CLONES void relu(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = std::max(x[i], 0.0f);
}

}  // namespace

void apply_activation(float* x, int64_t n, Activation act) {
  switch (act) {
    case Activation::None: return;
    case Activation::QuickGelu: quick_gelu(x, n); return;
    case Activation::Gelu: gelu(x, n); return;
    case Activation::Relu: relu(x, n); return;
  }
}

}  // namespace clipdex::kernels
