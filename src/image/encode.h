#pragma once
// JPEG encoding and thumbnails (for the web page; not part of the model's preprocessing).
#include <cstdint>
#include <vector>

#include "image/image.h"

namespace clipdex::image {

// Encodes an image (any mode; converted to RGB first) as a baseline JPEG.
std::vector<uint8_t> encode_jpeg(const Image& im, int quality = 85);

// Scales so the longer side is at most max_side (never enlarges), as RGB.
Image thumbnail(const Image& im, int max_side);

}  // namespace clipdex::image
