#include "image/preprocess.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace clipdex::image {
namespace {

// Python's round() on a multiple of 0.5: halves go to the even neighbour.
int round_half_even(double v) { return static_cast<int>(std::nearbyint(v)); }

Image center_crop(const Image& im, int size) {
  CLIPDEX_CHECK_INPUT(im.width >= size && im.height >= size, "image {}x{} is smaller than the crop {}", im.width,
                      im.height, size);
  const int top = round_half_even((im.height - size) / 2.0);
  const int left = round_half_even((im.width - size) / 2.0);
  Image out;
  out.width = out.height = size;
  out.mode = im.mode;
  const size_t ch = static_cast<size_t>(im.channels());
  out.pixels.resize(static_cast<size_t>(size) * size * ch);
  for (int y = 0; y < size; ++y)
    std::copy_n(&im.pixels[(static_cast<size_t>(top + y) * im.width + left) * ch], size * ch,
                &out.pixels[static_cast<size_t>(y) * size * ch]);
  return out;
}

}  // namespace

Filter parse_filter(const std::string& name) {
  if (name == "bicubic") return Filter::Bicubic;
  if (name == "bilinear") return Filter::Bilinear;
  if (name == "nearest") return Filter::Nearest;
  throw_input("unsupported interpolation '{}' (bicubic, bilinear, nearest)", name);
}

ResizeMode parse_resize_mode(const std::string& name) {
  if (name == "shortest") return ResizeMode::Shortest;
  if (name == "squash") return ResizeMode::Squash;
  throw_input("unsupported resize mode '{}' (shortest, squash)", name);
}

Image resize_and_crop(const Image& im, const PreprocessConfig& cfg) {
  CLIPDEX_CHECK_INPUT(cfg.size > 0 && cfg.size <= 4096, "preprocess size {} is out of range", cfg.size);
  const int n = cfg.size;
  if (cfg.resize_mode == ResizeMode::Squash) return to_rgb(resize(im, n, n, cfg.interpolation));
  const int w = im.width, h = im.height;
  const int shorter = std::min(w, h), longer = std::max(w, h);
  const double scaled_long = static_cast<double>(n) * longer / shorter;
  // A 1 x 100000 strip would resize to 224 x 22 million: refuse such aspect ratios.
  CLIPDEX_CHECK_INPUT(scaled_long * n <= 64.0 * 1024 * 1024, "image {}x{} has too extreme an aspect ratio", w, h);
  const int new_long = static_cast<int>(scaled_long);
  const int new_w = w <= h ? n : new_long;
  const int new_h = w <= h ? new_long : n;
  return to_rgb(center_crop(resize(im, new_w, new_h, cfg.interpolation), n));
}

void preprocess(const Image& im, const PreprocessConfig& cfg, float* out) {
  const Image rgb = resize_and_crop(im, cfg);
  const size_t plane = static_cast<size_t>(cfg.size) * cfg.size;
  for (int c = 0; c < 3; ++c) {
    // Each byte's value computed once, with the reference's operations (so the same bits):
    // two divisions per pixel were 8% of preparing a 640x480 JPEG.
    float value[256];
    for (int v = 0; v < 256; ++v) value[v] = (static_cast<float>(v) / 255.0f - cfg.mean[c]) / cfg.std[c];
    for (size_t i = 0; i < plane; ++i) out[c * plane + i] = value[rgb.pixels[i * 3 + c]];
  }
}

std::vector<float> preprocess(const Image& im, const PreprocessConfig& cfg) {
  std::vector<float> out(static_cast<size_t>(3) * cfg.size * cfg.size);
  preprocess(im, cfg, out.data());
  return out;
}

}  // namespace clipdex::image
