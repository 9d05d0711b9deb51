// TIFF through libtiff, first directory (page), read from memory. 8-bit RGB, RGBA, grey and
// grey + alpha stored pixel-interleaved come out exactly as stored, in PIL's modes (RGB, RGBA,
// L, LA); every other layout (YCbCr / JPEG-in-TIFF, 16-bit, palette, bilevel, CMYK, planar)
// goes through libtiff's RGBA conversion, palette and bilevel keeping PIL's nearest-resampled
// modes. The Orientation tag is applied like EXIF's; Make, Model and DateTimeOriginal are read.
#include <tiffio.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "image/decoders.h"

namespace clipdex::image::detail {
namespace {

// libtiff reads through these callbacks from a span; it never writes.
struct MemoryStream {
  std::span<const uint8_t> bytes;
  uint64_t pos = 0;
};

tmsize_t mem_read(thandle_t h, void* buf, tmsize_t n) {
  auto* s = static_cast<MemoryStream*>(h);
  if (n <= 0 || s->pos >= s->bytes.size()) return 0;
  const uint64_t take = std::min<uint64_t>(static_cast<uint64_t>(n), s->bytes.size() - s->pos);
  std::memcpy(buf, s->bytes.data() + s->pos, take);
  s->pos += take;
  return static_cast<tmsize_t>(take);
}
tmsize_t mem_write(thandle_t, void*, tmsize_t) { return 0; }
toff_t mem_seek(thandle_t h, toff_t off, int whence) {
  auto* s = static_cast<MemoryStream*>(h);
  uint64_t base = whence == SEEK_CUR ? s->pos : whence == SEEK_END ? s->bytes.size() : 0;
  s->pos = base + off;
  return s->pos;
}
int mem_close(thandle_t) { return 0; }
toff_t mem_size(thandle_t h) { return static_cast<MemoryStream*>(h)->bytes.size(); }
int no_map(thandle_t, void**, toff_t*) { return 0; }
void no_unmap(thandle_t, void*, toff_t) {}

// libtiff reports through a process-wide handler; the last error of this thread is kept for the
// message, warnings are dropped (PIL ignores them too).
thread_local char g_last_error[256];
void on_error(const char*, const char* fmt, va_list ap) { std::vsnprintf(g_last_error, sizeof g_last_error, fmt, ap); }
void on_warning(const char*, const char*, va_list) {}

struct TiffCloser {
  void operator()(TIFF* t) const { TIFFClose(t); }
};

template <typename T>
T field_or(TIFF* tif, ttag_t tag, T fallback) {
  T v{};
  return TIFFGetFieldDefaulted(tif, tag, &v) == 1 ? v : fallback;
}

std::string ascii_field(TIFF* tif, ttag_t tag) {
  const char* s = nullptr;
  if (TIFFGetField(tif, tag, &s) != 1 || !s) return "";
  return printable_ascii(s);
}

ExifTags read_tags(TIFF* tif) {
  ExifTags tags;
  tags.camera_make = ascii_field(tif, TIFFTAG_MAKE);
  tags.camera_model = ascii_field(tif, TIFFTAG_MODEL);
  toff_t exif_offset = 0;
  if (TIFFGetField(tif, TIFFTAG_EXIFIFD, &exif_offset) == 1 && exif_offset && TIFFReadEXIFDirectory(tif, exif_offset)) {
    tags.taken_at = parse_exif_datetime(ascii_field(tif, EXIFTAG_DATETIMEORIGINAL));
    TIFFSetDirectory(tif, 0);
  }
  if (!tags.taken_at) tags.taken_at = parse_exif_datetime(ascii_field(tif, TIFFTAG_DATETIME));
  return tags;
}

// Strips or tiles of 8-bit interleaved samples, copied into place.
bool read_interleaved8(TIFF* tif, Image& im) {
  // (A hostile tile size is refused before its buffer is allocated.)
  const size_t ch = static_cast<size_t>(im.channels());
  const size_t width = static_cast<size_t>(im.width), height = static_cast<size_t>(im.height);
  if (TIFFIsTiled(tif)) {
    const uint32_t tw = field_or<uint32_t>(tif, TIFFTAG_TILEWIDTH, 0), th = field_or<uint32_t>(tif, TIFFTAG_TILELENGTH, 0);
    if (tw == 0 || th == 0 || uint64_t{tw} * th > std::max<uint64_t>(uint64_t{1} << 24, width * height)) return false;
    std::vector<uint8_t> tile(static_cast<size_t>(TIFFTileSize(tif)));
    if (tile.size() < size_t{tw} * th * ch) return false;
    for (size_t y0 = 0; y0 < height; y0 += th)
      for (size_t x0 = 0; x0 < width; x0 += tw) {
        if (TIFFReadEncodedTile(tif, TIFFComputeTile(tif, static_cast<uint32_t>(x0), static_cast<uint32_t>(y0), 0, 0),
                                tile.data(), static_cast<tmsize_t>(tile.size())) < 0)
          return false;
        const size_t rows = std::min<size_t>(th, height - y0), cols = std::min<size_t>(tw, width - x0);
        for (size_t r = 0; r < rows; ++r)
          std::memcpy(&im.pixels[((y0 + r) * width + x0) * ch], &tile[r * tw * ch], cols * ch);
      }
    return true;
  }
  const uint32_t rows_per_strip = std::max<uint32_t>(1, field_or<uint32_t>(tif, TIFFTAG_ROWSPERSTRIP, im.height));
  const size_t row = width * ch;
  for (size_t y0 = 0, strip = 0; y0 < height; y0 += rows_per_strip, ++strip) {
    const size_t rows = std::min<size_t>(rows_per_strip, height - y0);
    if (TIFFReadEncodedStrip(tif, static_cast<uint32_t>(strip), &im.pixels[y0 * row], static_cast<tmsize_t>(rows * row)) <
        static_cast<tmsize_t>(rows * row))
      return false;
  }
  return true;
}

// Anything else: libtiff's RGBA conversion, in stored order (the orientation is applied later).
bool read_via_rgba(TIFF* tif, Image& im, uint16_t photometric, uint16_t bits, bool has_alpha) {
  TIFFSetField(tif, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT);
  std::vector<uint32_t> raster(static_cast<size_t>(im.width) * im.height);
  if (!TIFFReadRGBAImageOriented(tif, static_cast<uint32_t>(im.width), static_cast<uint32_t>(im.height), raster.data(),
                                 ORIENTATION_TOPLEFT, 0))
    return false;
  im.mode = photometric == PHOTOMETRIC_PALETTE ? PixelMode::Palette
            : bits == 1 && (photometric == PHOTOMETRIC_MINISBLACK || photometric == PHOTOMETRIC_MINISWHITE)
                ? PixelMode::Bilevel
            : has_alpha ? PixelMode::RGBA
                        : PixelMode::RGB;
  const size_t ch = static_cast<size_t>(im.channels());
  im.pixels.resize(raster.size() * ch);
  for (size_t i = 0; i < raster.size(); ++i) {
    const uint32_t p = raster[i];
    const uint8_t rgba[4] = {static_cast<uint8_t>(TIFFGetR(p)), static_cast<uint8_t>(TIFFGetG(p)),
                             static_cast<uint8_t>(TIFFGetB(p)), static_cast<uint8_t>(TIFFGetA(p))};
    std::memcpy(&im.pixels[i * ch], rgba, ch);  // Bilevel keeps the grey level (R)
  }
  return true;
}

}  // namespace

Decoded decode_tiff(std::span<const uint8_t> bytes, const DecodeOptions& opt, const std::string& name) {
  static const bool handlers_set = [] {
    TIFFSetErrorHandler(on_error);
    TIFFSetWarningHandler(on_warning);
    return true;
  }();
  (void)handlers_set;
  g_last_error[0] = '\0';
  MemoryStream stream{bytes};
  std::unique_ptr<TIFF, TiffCloser> tif(TIFFClientOpen(name.c_str(), "rm", &stream, mem_read, mem_write, mem_seek,
                                                       mem_close, mem_size, no_map, no_unmap));
  if (!tif) throw_input("{}: corrupt TIFF ({})", name, g_last_error[0] ? g_last_error : "unreadable header");
  TIFF* t = tif.get();
  const uint32_t width = field_or<uint32_t>(t, TIFFTAG_IMAGEWIDTH, 0), height = field_or<uint32_t>(t, TIFFTAG_IMAGELENGTH, 0);
  check_dimensions(width, height, opt, name);
  const uint16_t bits = field_or<uint16_t>(t, TIFFTAG_BITSPERSAMPLE, 1);
  const uint16_t samples = field_or<uint16_t>(t, TIFFTAG_SAMPLESPERPIXEL, 1);
  const uint16_t photometric = field_or<uint16_t>(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
  const uint16_t planar = field_or<uint16_t>(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  uint16_t extra_count = 0;
  uint16_t* extra = nullptr;
  TIFFGetField(t, TIFFTAG_EXTRASAMPLES, &extra_count, &extra);

  Decoded out;
  out.tags = read_tags(t);
  out.orientation = field_or<uint16_t>(t, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT);
  if (out.orientation < 1 || out.orientation > 8) out.orientation = 1;
  Image& im = out.image;
  im.width = static_cast<int>(width);
  im.height = static_cast<int>(height);
  const bool grey = photometric == PHOTOMETRIC_MINISBLACK, rgb = photometric == PHOTOMETRIC_RGB;
  const bool plain = bits == 8 && planar == PLANARCONFIG_CONTIG && extra_count <= 1 &&
                     ((grey && samples == 1 + extra_count) || (rgb && samples == 3 + extra_count));
  bool ok;
  if (plain) {
    im.mode = grey ? (extra_count ? PixelMode::LA : PixelMode::L) : (extra_count ? PixelMode::RGBA : PixelMode::RGB);
    im.pixels.resize(im.row_bytes() * height);
    ok = read_interleaved8(t, im);
  } else {
    ok = read_via_rgba(t, im, photometric, bits, extra_count > 0);
  }
  if (!ok) throw_input("{}: corrupt or truncated TIFF data ({})", name, g_last_error[0] ? g_last_error : "read failed");
  return out;
}

}  // namespace clipdex::image::detail
