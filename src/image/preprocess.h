#pragma once
// The reference image transform (OpenAI CLIP / open_clip `_transform`, torchvision 0.14 on PIL):
//   Resize(N) of the shorter side: size (N, int(N * long / short)), PIL resampling
//   CenterCrop(N): offsets int(round((W - N) / 2)) with Python's round-half-to-even
//   convert("RGB") after the resize (palette and 1-bit images were resized with nearest)
//   ToTensor: float32(v) / 255;  Normalize: (x - mean) / std in float32.
#include <array>
#include <string>
#include <vector>

#include "image/image.h"
#include "image/resample.h"

namespace clipdex::image {

enum class ResizeMode {
  Shortest,  // shorter side to N, then centre crop (the reference)
  Squash,    // both sides to N, aspect ratio not kept
};

struct PreprocessConfig {
  int size = 224;
  std::array<float, 3> mean = {0.48145466f, 0.4578275f, 0.40821073f};
  std::array<float, 3> std = {0.26862954f, 0.26130258f, 0.27577711f};
  Filter interpolation = Filter::Bicubic;
  ResizeMode resize_mode = ResizeMode::Shortest;
};

Filter parse_filter(const std::string& name);          // "bicubic", "bilinear", "nearest"
ResizeMode parse_resize_mode(const std::string& name);  // "shortest", "squash"

// Resize + crop + RGB conversion: the uint8 picture the model sees.
Image resize_and_crop(const Image& im, const PreprocessConfig& cfg);

// The full transform: float32 [3, size, size] (channel-major), written to `out`.
void preprocess(const Image& im, const PreprocessConfig& cfg, float* out);
std::vector<float> preprocess(const Image& im, const PreprocessConfig& cfg);

}  // namespace clipdex::image
