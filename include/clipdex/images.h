#pragma once
// Image files as clipdex reads them, for programs that show or check images (the server's
// /images and /thumbs, `clipdex preprocess`).
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace clipdex {

// jpeg, png, webp, gif, bmp, tiff, heif, avif by the file's first bytes; "" when none.
std::string image_format(std::span<const uint8_t> encoded);
// Width and height from the header alone (no decoding); nullopt when they cannot be read.
std::optional<std::pair<uint32_t, uint32_t>> image_size(std::span<const uint8_t> encoded);

// Decodes (upright by EXIF, within max_pixels; 0 = the default 100 MP) and re-encodes as JPEG:
// the whole picture, or a thumbnail whose longer side is at most `max_side` (PIL's thumbnail()).
std::vector<uint8_t> to_jpeg(std::span<const uint8_t> encoded, uint64_t max_pixels = 0, int quality = 92);
std::vector<uint8_t> thumbnail_jpeg(std::span<const uint8_t> encoded, int max_side, uint64_t max_pixels = 0,
                                    int quality = 85);

// A model's input for one image file: float32 [3, size, size], normalised with CLIP's mean and std.
struct PreprocessOptions {
  int size = 224;
  std::string interpolation = "bicubic";  // bicubic, bilinear or nearest
  std::string resize_mode = "shortest";   // shortest (then centre crop) or squash
  uint64_t max_pixels = 100'000'000;
  bool exif_orientation = true;
  bool reduced_decode = false;  // large JPEGs decoded at a reduced DCT scale first (as indexing does)
};
std::vector<float> preprocess_image_file(const std::string& path, const PreprocessOptions& options = {});

// Writes float32 tensors as a .safetensors file (atomically).
void write_safetensors_f32(const std::string& path, const std::string& name, const std::vector<int64_t>& shape,
                           const std::vector<float>& data);

}  // namespace clipdex
