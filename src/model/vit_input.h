#pragma once
// The ViT's input, shared by the inference tower (vit.cpp) and the LoRA trainer (src/train).
#include <cstdint>

#include "model/config.h"

namespace clipdex::model {

// Pixels [n, 3, S, S] as rows (img, gy, gx) of flattened patches, columns (c, ky, kx) as the
// patch convolution's weight is laid out: the convolution becomes one matrix product.
// cols: [n * grid^2, 3 * patch^2].
void flatten_patches(const float* pixels, int64_t n, const VisionConfig& cfg, float* cols);

// Tokens [n * tokens, width]: each image's class embedding then its patch embeddings
// ([n * grid^2, width]), plus the positional embedding ([tokens, width]).
void assemble_tokens(const float* patch_embeddings, const float* class_embedding, const float* positions, int64_t n,
                     const VisionConfig& cfg, float* x);

}  // namespace clipdex::model
