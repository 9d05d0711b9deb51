// PNG through libpng, shaped like PIL's PngImagePlugin output: palette stays a palette image
// (resized with nearest), tRNS is ignored for RGB/L, 1-bit grey is PIL mode "1", 2/4-bit grey is
// scaled to 8 bits, 16-bit samples keep their high byte, gamma chunks are not applied.
#include <csetjmp>
#include <cstring>

#include <png.h>

#include "core/error.h"
#include "image/decoders.h"

namespace clipdex::image::detail {
namespace {

// State shared with libpng's callbacks; kept in memory (not registers) across longjmp.
struct Reader {
  std::span<const uint8_t> bytes;
  size_t pos = 0;
  char message[256] = {0};
  png_uint_32 width = 0, height = 0;
  bool too_large = false;
};

void read_fn(png_structp png, png_bytep out, png_size_t n) {
  auto* r = static_cast<Reader*>(png_get_io_ptr(png));
  if (n > r->bytes.size() - r->pos) {
    std::snprintf(r->message, sizeof r->message, "PNG file is truncated");
    png_longjmp(png, 1);
  }
  std::memcpy(out, r->bytes.data() + r->pos, n);
  r->pos += n;
}

void error_fn(png_structp png, png_const_charp msg) {
  auto* r = static_cast<Reader*>(png_get_error_ptr(png));
  if (r->message[0] == 0) std::snprintf(r->message, sizeof r->message, "%s", msg);
  png_longjmp(png, 1);
}

void warning_fn(png_structp, png_const_charp) {}

PixelMode mode_for(int color_type, int bit_depth) {
  switch (color_type) {
    case PNG_COLOR_TYPE_GRAY: return bit_depth == 1 ? PixelMode::Bilevel : PixelMode::L;
    case PNG_COLOR_TYPE_GRAY_ALPHA: return PixelMode::LA;
    case PNG_COLOR_TYPE_PALETTE: return PixelMode::Palette;
    case PNG_COLOR_TYPE_RGB_ALPHA: return PixelMode::RGBA;
    default: return PixelMode::RGB;
  }
}

// Reads the IHDR dimensions straight from the header, before libpng reads further chunks.
void check_ihdr(std::span<const uint8_t> b, const DecodeOptions& opt, const std::string& name) {
  if (b.size() < 24 || std::memcmp(b.data() + 12, "IHDR", 4) != 0) return;  // libpng reports it
  auto be32 = [&](size_t at) { return uint32_t{b[at]} << 24 | uint32_t{b[at + 1]} << 16 | uint32_t{b[at + 2]} << 8 | b[at + 3]; };
  check_dimensions(be32(16), be32(20), opt, name);
}

// Runs libpng over the file. Returns false after a libpng error (longjmp back here). Everything
// it fills lives in the caller's frame and is reached through references, so a longjmp leaves no
// C++ object of a half-run frame behind (locals changed after setjmp are not used after it).
bool read_png(png_structp png, png_infop info, Reader& reader, const DecodeOptions& opt, Decoded& out,
              std::vector<png_bytep>& rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_read_fn(png, &reader, read_fn);
  png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
  png_read_info(png, info);
  int bit_depth = 0, color_type = 0, interlace = 0;
  png_get_IHDR(png, info, &reader.width, &reader.height, &bit_depth, &color_type, &interlace, nullptr, nullptr);
  const png_uint_32 width = reader.width, height = reader.height;
  if (static_cast<uint64_t>(width) * height > opt.max_pixels) {
    reader.too_large = true;
    return false;
  }
  out.image.mode = mode_for(color_type, bit_depth);
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (bit_depth == 16) png_set_strip_16(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  out.image.width = static_cast<int>(width);
  out.image.height = static_cast<int>(height);
  const size_t row = out.image.row_bytes();
  if (png_get_rowbytes(png, info) != row) {
    std::snprintf(reader.message, sizeof reader.message, "unexpected row layout");
    return false;
  }
  out.image.pixels.resize(row * height);
  rows.resize(height);
  for (png_uint_32 y = 0; y < height; ++y) rows[y] = out.image.pixels.data() + row * y;
  png_read_image(png, rows.data());
  png_read_end(png, info);
#ifdef PNG_eXIf_SUPPORTED
  png_uint_32 exif_len = 0;
  png_bytep exif = nullptr;
  if (png_get_eXIf_1(png, info, &exif_len, &exif) && exif && exif_len > 0)
    out.exif.assign(exif, exif + exif_len);
#endif
  return true;
}

}  // namespace

Decoded decode_png(std::span<const uint8_t> bytes, const DecodeOptions& opt, const std::string& name) {
  check_ihdr(bytes, opt, name);
  Reader reader{bytes};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &reader, error_fn, warning_fn);
  if (!png) throw Error("libpng: out of memory");
  png_infop info = png_create_info_struct(png);
  Decoded out;
  std::vector<png_bytep> rows;
  const bool ok = info && read_png(png, info, reader, opt, out, rows);
  png_destroy_read_struct(&png, &info, nullptr);
  if (reader.too_large) check_dimensions(reader.width, reader.height, opt, name);
  if (!ok) throw_input("{}: corrupt PNG: {}", name, reader.message);
  return out;
}

}  // namespace clipdex::image::detail
