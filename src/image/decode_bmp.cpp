// Windows BMP: uncompressed 1/4/8/16/24/32-bit and BI_BITFIELDS 16/32-bit, bottom-up or
// top-down. Like PIL, palettes that are a plain grey ramp give a grey image (mode "1" for two
// colours), other palettes a palette image; 32-bit pixels ignore the fourth byte.
#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#include "core/error.h"
#include "image/decoders.h"

namespace clipdex::image::detail {
namespace {

struct Cursor {
  std::span<const uint8_t> b;
  const std::string& name;
  uint32_t u32(size_t at) const { need(at, 4); return b[at] | b[at + 1] << 8 | b[at + 2] << 16 | uint32_t{b[at + 3]} << 24; }
  uint16_t u16(size_t at) const { need(at, 2); return static_cast<uint16_t>(b[at] | b[at + 1] << 8); }
  int32_t i32(size_t at) const { return static_cast<int32_t>(u32(at)); }
  void need(size_t at, size_t n) const {
    if (at > b.size() || n > b.size() - at) throw_input("{}: BMP file is truncated", name);
  }
};

// Extracts a channel through a bit mask and scales it to 8 bits.
uint8_t masked(uint32_t v, uint32_t mask) {
  if (mask == 0) return 0;
  const int shift = std::countr_zero(mask);
  const uint32_t max = mask >> shift;
  return static_cast<uint8_t>(((v & mask) >> shift) * 255u / max);
}

}  // namespace

Decoded decode_bmp(std::span<const uint8_t> bytes, const DecodeOptions& opt, const std::string& name) {
  Cursor c{bytes, name};
  const uint32_t data_offset = c.u32(10);
  const uint32_t header_size = c.u32(14);
  int64_t width, height;
  int bpp;
  uint32_t compression = 0, colors_used = 0;
  if (header_size == 12) {
    width = c.u16(18);
    height = static_cast<int16_t>(c.u16(20));
    bpp = c.u16(24);
  } else if (header_size >= 40 && header_size <= 124) {
    width = c.i32(18);
    height = c.i32(22);
    bpp = c.u16(28);
    compression = c.u32(30);
    colors_used = c.u32(46);
  } else {
    throw_input("{}: unsupported BMP header size {}", name, header_size);
  }
  const bool top_down = height < 0;
  height = std::abs(height);
  if (width <= 0) throw_input("{}: BMP width {} is invalid", name, width);
  check_dimensions(static_cast<uint64_t>(width), static_cast<uint64_t>(height), opt, name);

  uint32_t masks[3] = {0x00ff0000u, 0x0000ff00u, 0x000000ffu};
  if (bpp == 16) masks[0] = 0x7c00, masks[1] = 0x03e0, masks[2] = 0x001f;
  if (compression == 3 && (bpp == 16 || bpp == 32)) {
    for (int i = 0; i < 3; ++i) masks[i] = c.u32(54 + 4 * i);
  } else if (compression != 0) {
    throw_input("{}: compressed BMP (method {}) is not supported", name, compression);
  }
  if (bpp != 1 && bpp != 4 && bpp != 8 && bpp != 16 && bpp != 24 && bpp != 32)
    throw_input("{}: BMP with {} bits per pixel is not supported", name, bpp);

  // Palette for 1/4/8-bit images.
  std::vector<std::array<uint8_t, 3>> palette;
  bool grey_ramp = false;
  if (bpp <= 8) {
    const size_t n = colors_used ? std::min<uint32_t>(colors_used, 1u << bpp) : (1u << bpp);
    const size_t entry = header_size == 12 ? 3 : 4;
    const size_t at = 14 + header_size;
    c.need(at, n * entry);
    grey_ramp = n > 1;
    for (size_t i = 0; i < n; ++i) {
      const uint8_t* p = &bytes[at + i * entry];
      palette.push_back({p[2], p[1], p[0]});
      const auto g = static_cast<uint8_t>(i * 255 / (n - (n > 1 ? 1 : 0)));
      if (p[0] != g || p[1] != g || p[2] != g) grey_ramp = false;
    }
  }
  const size_t stride = ((static_cast<size_t>(bpp) * width + 31) / 32) * 4;
  c.need(data_offset, stride * height);

  Decoded out;
  out.image.width = static_cast<int>(width);
  out.image.height = static_cast<int>(height);
  out.image.mode = bpp <= 8 ? (grey_ramp ? (palette.size() == 2 ? PixelMode::Bilevel : PixelMode::L) : PixelMode::Palette)
                            : PixelMode::RGB;
  const int ch = out.image.channels();
  out.image.pixels.resize(out.image.row_bytes() * height);
  for (int64_t y = 0; y < height; ++y) {
    const uint8_t* row = &bytes[data_offset + stride * (top_down ? y : height - 1 - y)];
    uint8_t* o = &out.image.pixels[static_cast<size_t>(y) * out.image.row_bytes()];
    for (int64_t x = 0; x < width; ++x, o += ch) {
      if (bpp <= 8) {
        const size_t bit = static_cast<size_t>(x) * bpp;
        const unsigned idx = (row[bit / 8] >> (8 - bpp - bit % 8)) & ((1u << bpp) - 1);
        const auto& col = palette[idx < palette.size() ? idx : 0];
        if (ch == 1) o[0] = col[0];
        else o[0] = col[0], o[1] = col[1], o[2] = col[2];
      } else if (bpp == 24) {
        o[0] = row[x * 3 + 2], o[1] = row[x * 3 + 1], o[2] = row[x * 3];
      } else {
        const uint32_t v = bpp == 16 ? uint32_t{row[x * 2]} | uint32_t{row[x * 2 + 1]} << 8
                                     : c.u32(static_cast<size_t>(row - bytes.data()) + x * 4);
        o[0] = masked(v, masks[0]), o[1] = masked(v, masks[1]), o[2] = masked(v, masks[2]);
      }
    }
  }
  return out;
}

}  // namespace clipdex::image::detail
