#pragma once
// Per-format decoders behind decode_image(). Each returns the image in its native mode and
// reports the EXIF orientation it found (1 when none). `name` is only used in messages.
#include <span>
#include <string>

#include "image/decode.h"

namespace clipdex::image::detail {

struct Decoded {
  Image image;
  int exif_orientation = 1;
  int source_width = 0, source_height = 0;  // the stored size, when image was decoded smaller
};

Decoded decode_jpeg(std::span<const uint8_t> bytes, const DecodeOptions& opt, const std::string& name);
Decoded decode_png(std::span<const uint8_t> bytes, const DecodeOptions& opt, const std::string& name);
Decoded decode_webp(std::span<const uint8_t> bytes, const DecodeOptions& opt, const std::string& name);
Decoded decode_gif(std::span<const uint8_t> bytes, const DecodeOptions& opt, const std::string& name);
Decoded decode_bmp(std::span<const uint8_t> bytes, const DecodeOptions& opt, const std::string& name);

// Throws InputError when width x height is zero or over the configured limit.
void check_dimensions(uint64_t width, uint64_t height, const DecodeOptions& opt, const std::string& name);

// EXIF orientation (1..8) from a TIFF/EXIF payload ("Exif\0\0" prefix optional); 1 if absent.
int exif_orientation(std::span<const uint8_t> exif);

// Applies an EXIF orientation (2..8) to the pixels.
Image apply_orientation(const Image& im, int orientation);

}  // namespace clipdex::image::detail
