#include <cmath>

#include "kernels/backend.h"

namespace clipdex::kernels {

void apply_activation(float* x, int64_t n, Activation act) {
  switch (act) {
    case Activation::None:
      return;
    case Activation::QuickGelu:  // x * sigmoid(1.702 x), as OpenAI CLIP
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] / (1.0f + std::exp(-1.702f * x[i]));
      return;
    case Activation::Gelu:  // exact erf GELU, as torch.nn.GELU()
      for (int64_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
      return;
    case Activation::Relu:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
      return;
  }
}

}  // namespace clipdex::kernels
