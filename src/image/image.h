#pragma once
// A decoded picture in the decoder's native layout, before conversion to RGB. The layout
// matters for parity: the reference resizes in the file's own mode (PIL) and converts to RGB
// afterwards, and some modes resample differently (palette: nearest; alpha: premultiplied).
#include <cstdint>
#include <string>
#include <vector>

namespace clipdex::image {

enum class PixelMode {
  L,        // 8-bit grey
  LA,       // grey + alpha
  RGB,
  RGBA,
  Palette,  // palette image, already expanded to RGB (PIL mode "P": resized with nearest)
  Bilevel,  // 1-bit image expanded to L 0/255 (PIL mode "1": resized with nearest)
  CMYK,     // 4 channels, converted to RGB as PIL does
};

int channels_of(PixelMode mode);
const char* mode_name(PixelMode mode);

struct Image {
  int width = 0;
  int height = 0;
  PixelMode mode = PixelMode::RGB;
  std::vector<uint8_t> pixels;  // row-major, interleaved, channels_of(mode) bytes per pixel

  int channels() const { return channels_of(mode); }
  size_t row_bytes() const { return static_cast<size_t>(width) * static_cast<size_t>(channels()); }
};

// Converts to 3-channel RGB the way PIL's convert("RGB") does (alpha dropped, not composited).
Image to_rgb(const Image& im);

}  // namespace clipdex::image
