#include "image/image.h"

namespace clipdex::image {

int channels_of(PixelMode mode) {
  switch (mode) {
    case PixelMode::L:
    case PixelMode::Bilevel:
      return 1;
    case PixelMode::LA:
      return 2;
    case PixelMode::RGB:
    case PixelMode::Palette:
      return 3;
    case PixelMode::RGBA:
    case PixelMode::CMYK:
      return 4;
  }
  return 3;
}

const char* mode_name(PixelMode mode) {
  switch (mode) {
    case PixelMode::L: return "L";
    case PixelMode::LA: return "LA";
    case PixelMode::RGB: return "RGB";
    case PixelMode::RGBA: return "RGBA";
    case PixelMode::Palette: return "P";
    case PixelMode::Bilevel: return "1";
    case PixelMode::CMYK: return "CMYK";
  }
  return "?";
}

Image to_rgb(const Image& im) {
  if (im.mode == PixelMode::RGB || im.mode == PixelMode::Palette) {
    Image out = im;
    out.mode = PixelMode::RGB;
    return out;
  }
  Image out;
  out.width = im.width;
  out.height = im.height;
  out.mode = PixelMode::RGB;
  const size_t n = static_cast<size_t>(im.width) * static_cast<size_t>(im.height);
  out.pixels.resize(n * 3);
  const int c = im.channels();
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = &im.pixels[i * c];
    uint8_t* q = &out.pixels[i * 3];
    switch (im.mode) {
      case PixelMode::L:
      case PixelMode::Bilevel:
      case PixelMode::LA:
        q[0] = q[1] = q[2] = p[0];
        break;
      case PixelMode::RGBA:
        q[0] = p[0], q[1] = p[1], q[2] = p[2];
        break;
      case PixelMode::CMYK: {
        // PIL cmyk2rgb: nk - MULDIV255(c, nk) with nk = 255 - k
        const unsigned nk = 255u - p[3];
        for (int ch = 0; ch < 3; ++ch) {
          const unsigned t = p[ch] * nk + 128u;
          q[ch] = static_cast<uint8_t>(nk - (((t >> 8) + t) >> 8));
        }
        break;
      }
      default:
        break;
    }
  }
  return out;
}

}  // namespace clipdex::image
