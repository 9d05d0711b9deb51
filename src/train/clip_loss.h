#pragma once
// CLIP's symmetric contrastive loss (open_clip ClipLoss, one process): with unit features
// i = f / |f| of images and t of their captions, logits = scale * i t^T, loss = (CE(logits, diag)
// + CE(logits^T, diag)) / 2, mean over the batch. The scale is frozen.
#include <cstdint>
#include <vector>

namespace clipdex::train {

// image, text: raw features [n, dim] (row k of each is a pair). Returns the loss and sets the
// gradients at the raw features.
double clip_loss(const std::vector<float>& image, const std::vector<float>& text, int64_t n, int64_t dim,
                 double logit_scale, std::vector<float>& d_image, std::vector<float>& d_text);

}  // namespace clipdex::train
