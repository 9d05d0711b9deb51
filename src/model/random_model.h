#pragma once
// Full-size models with random weights in open_clip layout, for benchmarks (real weights cannot
// be downloaded everywhere). The tensor list comes from the model definition itself.
#include <cstdint>
#include <string>

#include "core/safetensors.h"
#include "model/config.h"

namespace clipdex::model {

// Writes DIR/open_clip_model.safetensors and DIR/open_clip_config.json.
void write_random_model(const ModelConfig& cfg, const std::string& dir, uint64_t seed, DType dtype);

}  // namespace clipdex::model
