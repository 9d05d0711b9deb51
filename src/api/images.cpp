// Image files as clipdex reads them: format, size, JPEG re-encoding, thumbnails, model input.
#include "clipdex/images.h"

#include "core/safetensors.h"
#include "image/decode.h"
#include "image/encode.h"
#include "image/preprocess.h"
#include "image/probe.h"

namespace clipdex {
namespace {

image::Image decode(std::span<const uint8_t> encoded, uint64_t max_pixels, int reduce_to) {
  image::DecodeOptions d;
  if (max_pixels > 0) d.max_pixels = max_pixels;
  d.reduce_to = reduce_to;
  return image::decode_image(encoded, d, "image");
}

}  // namespace

std::string image_format(std::span<const uint8_t> encoded) { return image::detect_format(encoded); }

std::optional<std::pair<uint32_t, uint32_t>> image_size(std::span<const uint8_t> encoded) {
  return image::probe_size(encoded);
}

std::vector<uint8_t> to_jpeg(std::span<const uint8_t> encoded, uint64_t max_pixels, int quality) {
  return image::encode_jpeg(decode(encoded, max_pixels, 0), quality);
}

std::vector<uint8_t> thumbnail_jpeg(std::span<const uint8_t> encoded, int max_side, uint64_t max_pixels, int quality) {
  // A thumbnail never needs more pixels than its side (PIL's thumbnail() drafts too).
  return image::encode_jpeg(image::thumbnail(decode(encoded, max_pixels, max_side), max_side), quality);
}

std::vector<float> preprocess_image_file(const std::string& path, const PreprocessOptions& options) {
  image::DecodeOptions d;
  d.max_pixels = options.max_pixels;
  d.apply_exif_orientation = options.exif_orientation;
  if (options.reduced_decode) d.reduce_to = options.size;
  image::PreprocessConfig cfg;
  cfg.size = options.size;
  cfg.interpolation = image::parse_filter(options.interpolation);
  cfg.resize_mode = image::parse_resize_mode(options.resize_mode);
  return image::preprocess(image::decode_image_file(path, d), cfg);
}

void write_safetensors_f32(const std::string& path, const std::string& name, const std::vector<int64_t>& shape,
                           const std::vector<float>& data) {
  write_safetensors(path, {{name, make_f32_tensor(shape, data)}});
}

}  // namespace clipdex
