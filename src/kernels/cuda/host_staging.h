#pragma once
// Host-side half of a GPU upload: fp32 values converted to the destination's element type
// straight into pinned staging memory, on the thread pool (a batch of ViT-B/32 pixels is 600 MB
// in fp32; one thread would take longer than the model).
#include <cstdint>

#include "kernels/backend.h"

namespace clipdex::kernels::cuda {

void convert_for_upload(const float* src, int64_t n, ElementType to, void* pinned_dst);

}  // namespace clipdex::kernels::cuda
