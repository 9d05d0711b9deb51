// Element-wise activations, compiled once per ISA level and chosen by the
// loader at run time (GCC target_clones: an ifunc resolved on the CPU the program runs on),
// so one binary runs AVX-512 on a server and SSE2 on anything older.
#include <algorithm>

#include "core/half.h"
#include "core/isa_clones.h"
#include "kernels/activation_value.h"
#include "kernels/bf16_rows.h"
#include "kernels/backend.h"


namespace clipdex::kernels {
namespace {

template <Activation A>
[[gnu::always_inline]] inline void activate_all(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = activate<A>(x[i]);
}

// y = bf16(act(p + bias)) (bias may be null).
template <Activation A>
[[gnu::always_inline]] inline void bias_activate_narrow(const float* p, const float* bias, int64_t n, uint16_t* y) {
  if (bias)
    write_bf16_row(n, y, [&](int64_t j) { return activate_for_bf16<A>(p[j] + bias[j]); });
  else
    write_bf16_row(n, y, [&](int64_t j) { return activate_for_bf16<A>(p[j]); });
}

}  // namespace

CLIPDEX_ISA_CLONES void apply_activation(float* x, int64_t n, Activation act) {
  switch (act) {
    case Activation::None: return;
    case Activation::QuickGelu: return activate_all<Activation::QuickGelu>(x, n);  // OpenAI CLIP
    case Activation::Gelu: return activate_all<Activation::Gelu>(x, n);            // exact erf, torch.nn.GELU()
    case Activation::Relu: return activate_all<Activation::Relu>(x, n);
  }
}

CLIPDEX_ISA_CLONES void bias_activate_row_bf16(const float* p, const float* bias, int64_t n, Activation act,
                                               uint16_t* y) {
  switch (act) {
    case Activation::None: return bias_activate_narrow<Activation::None>(p, bias, n, y);
    case Activation::QuickGelu: return bias_activate_narrow<Activation::QuickGelu>(p, bias, n, y);
    case Activation::Gelu: return bias_activate_narrow<Activation::Gelu>(p, bias, n, y);
    case Activation::Relu: return bias_activate_narrow<Activation::Relu>(p, bias, n, y);
  }
}

}  // namespace clipdex::kernels
