#include "model/vit_input.h"

#include <algorithm>

namespace clipdex::model {

void flatten_patches(const float* pixels, int64_t n, const VisionConfig& cfg, float* cols) {
  const int64_t p = cfg.patch_size, g = cfg.grid(), S = cfg.image_size, k = 3 * p * p;
  for (int64_t img = 0; img < n; ++img)
    for (int64_t gy = 0; gy < g; ++gy)
      for (int64_t gx = 0; gx < g; ++gx) {
        float* dst = cols + ((img * g + gy) * g + gx) * k;
        for (int64_t c = 0; c < 3; ++c)
          for (int64_t ky = 0; ky < p; ++ky) {
            const float* src = pixels + ((img * 3 + c) * S + gy * p + ky) * S + gx * p;
            std::copy(src, src + p, dst + (c * p + ky) * p);
          }
      }
}

void assemble_tokens(const float* patch_embeddings, const float* class_embedding, const float* positions, int64_t n,
                     const VisionConfig& cfg, float* x) {
  const int64_t w = cfg.width, tokens = cfg.tokens(), patches = tokens - 1;
  for (int64_t img = 0; img < n; ++img)
    for (int64_t t = 0; t < tokens; ++t) {
      const float* src = t == 0 ? class_embedding : patch_embeddings + (img * patches + t - 1) * w;
      const float* pos = positions + t * w;
      float* dst = x + (img * tokens + t) * w;
      for (int64_t j = 0; j < w; ++j) dst[j] = src[j] + pos[j];
    }
}

}  // namespace clipdex::model
