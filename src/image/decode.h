#pragma once
// Image file decoding: JPEG (libjpeg-turbo), PNG (libpng), WebP (libwebp), GIF (giflib, first
// frame), BMP, TIFF (libtiff, first page) and HEIC/HEIF/AVIF (libheif), detected by content. Output matches what PIL's Image.open() + load() gives
// (same libjpeg settings, PIL's handling of palette, alpha, 16-bit and sub-byte PNGs).
// Every failure is an InputError naming the file; the pixel count is checked from the header
// before any pixel memory is allocated.
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "image/image.h"

namespace clipdex::image {

struct DecodeOptions {
  uint64_t max_pixels = 100'000'000;  // refuse larger images (decompression bombs)
  bool apply_exif_orientation = true;   // rotate/flip per EXIF tag 0x0112 (JPEG, PNG eXIf, WebP)
  // JPEG only: when > 0, decode at the smallest DCT scale (1/2, 1/4 or 1/8) that keeps both sides
  // at least this long, as PIL's Image.draft(mode, (n, n)) does. A 12 MP photo decodes 8-30x
  // faster; pixels then differ from a full decode + resize (docs/PRECISION.md). 0: full size.
  int reduce_to = 0;
};

// What the file says about the picture, whatever scale it was decoded at: its stored size
// (after orientation), format and the EXIF tags a photo library filters on.
struct SourceInfo {
  int width = 0, height = 0;
  std::string format;               // as detect_format() names it
  std::optional<int64_t> taken_at;  // EXIF DateTimeOriginal as seconds since 1970 (wall clock read as UTC)
  std::string camera_make, camera_model;
};

// "jpeg", "png", "webp", "gif", "bmp", "tiff", "heif", "avif", or "" when the content is none of them.
std::string detect_format(std::span<const uint8_t> bytes);

Image decode_image(std::span<const uint8_t> bytes, const DecodeOptions& options = {},
                   const std::string& name = "<memory>", SourceInfo* source = nullptr);
Image decode_image_file(const std::string& path, const DecodeOptions& options = {}, SourceInfo* source = nullptr);

}  // namespace clipdex::image
