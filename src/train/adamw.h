#pragma once
// torch.optim.AdamW's update (no AMSGrad, no gradient clipping), on every LoRA tensor.
#include <cstdint>

#include "train/lora_set.h"

namespace clipdex::train {

struct AdamW {
  double lr = 1e-4, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.01;
  // Step t (1-based): p <- p (1 - lr wd); m <- b1 m + (1 - b1) g; v <- b2 v + (1 - b2) g^2;
  // p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
  void step(LoraSet& lora, int64_t t) const;
};

}  // namespace clipdex::train
