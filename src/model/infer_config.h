#pragma once
#include "model/blocks.h"
#include "model/config.h"

namespace clipdex::model {

// The architecture of an open_clip/OpenAI checkpoint read from its tensor shapes.
ModelConfig infer_config(const Checkpoint& ck);

}  // namespace clipdex::model
