// JPEG through libjpeg-turbo with the library defaults that PIL also uses (islow DCT, fancy
// upsampling), so pixels are identical to PIL's. A truncated file is an error, as in PIL.
// With DecodeOptions::reduce_to, large photos decode at 1/2, 1/4 or 1/8 scale in the DCT, the
// choice PIL's Image.draft makes with the same library.
#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstring>

#include <jpeglib.h>
#include <jerror.h>

#include "core/error.h"
#include "image/decoders.h"

namespace clipdex::image::detail {
namespace {

struct ErrorManager {
  jpeg_error_mgr pub;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool truncated = false;
};

void on_error(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

void on_message(j_common_ptr cinfo, int level) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  // Warnings (level -1): premature end of data means the file was cut short.
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) err->truncated = true;
}

constexpr unsigned kExifMarker = JPEG_APP0 + 1;

std::vector<uint8_t> find_exif(j_decompress_ptr cinfo) {
  for (auto* m = cinfo->marker_list; m; m = m->next) {
    if (m->marker == kExifMarker && m->data_length > 6 && std::memcmp(m->data, "Exif\0\0", 6) == 0)
      return {m->data, m->data + m->data_length};
  }
  return {};
}

enum class JpegResult { Ok, Error, Truncated, TooLarge };

// Runs libjpeg. Error exits longjmp back here; what it fills lives in the caller's frame and is
// reached through references, so no C++ object is left half-updated by the jump.
JpegResult read_jpeg(jpeg_decompress_struct& cinfo, ErrorManager& err, std::span<const uint8_t> bytes,
                     const DecodeOptions& opt, Decoded& out) {
  if (setjmp(err.jump)) return JpegResult::Error;
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
  jpeg_save_markers(&cinfo, kExifMarker, 0xffff);
  jpeg_read_header(&cinfo, TRUE);
  const uint64_t pixels = uint64_t{cinfo.image_width} * cinfo.image_height;
  if (pixels == 0 || pixels > opt.max_pixels || cinfo.image_width > (1u << 30) || cinfo.image_height > (1u << 30))
    return JpegResult::TooLarge;
  PixelMode mode = PixelMode::RGB;
  bool adobe_inverted = false;
  switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
      cinfo.out_color_space = JCS_GRAYSCALE;
      mode = PixelMode::L;
      break;
    case JCS_CMYK:
    case JCS_YCCK:
      cinfo.out_color_space = JCS_CMYK;
      mode = PixelMode::CMYK;
      adobe_inverted = cinfo.saw_Adobe_marker;  // Adobe writes inverted CMYK (PIL "CMYK;I")
      break;
    default:
      cinfo.out_color_space = JCS_RGB;
      break;
  }
  out.exif = find_exif(&cinfo);
  out.source_width = static_cast<int>(cinfo.image_width);
  out.source_height = static_cast<int>(cinfo.image_height);
  if (opt.reduce_to > 0) {
    // PIL's draft: the largest of 8, 4, 2 that both sides divided by the target still reach.
    const unsigned target = static_cast<unsigned>(opt.reduce_to);
    const unsigned fits = std::min(cinfo.image_width / target, cinfo.image_height / target);
    cinfo.scale_num = 1;
    cinfo.scale_denom = fits >= 8 ? 8 : fits >= 4 ? 4 : fits >= 2 ? 2 : 1;
  }
  jpeg_start_decompress(&cinfo);
  out.image.width = static_cast<int>(cinfo.output_width);
  out.image.height = static_cast<int>(cinfo.output_height);
  out.image.mode = mode;
  const size_t row = out.image.row_bytes();
  out.image.pixels.resize(row * cinfo.output_height);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW r = out.image.pixels.data() + row * cinfo.output_scanline;
    jpeg_read_scanlines(&cinfo, &r, 1);
    if (err.truncated) return JpegResult::Truncated;  // PIL refuses truncated files too
  }
  jpeg_finish_decompress(&cinfo);
  if (adobe_inverted)
    for (auto& v : out.image.pixels) v = static_cast<uint8_t>(255 - v);
  return JpegResult::Ok;
}

}  // namespace

Decoded decode_jpeg(std::span<const uint8_t> bytes, const DecodeOptions& opt, const std::string& name) {
  jpeg_decompress_struct cinfo{};
  ErrorManager err{};
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = on_error;
  err.pub.emit_message = on_message;
  Decoded out;
  const JpegResult r = read_jpeg(cinfo, err, bytes, opt, out);
  const uint64_t w = cinfo.image_width, h = cinfo.image_height;
  jpeg_destroy_decompress(&cinfo);
  switch (r) {
    case JpegResult::Ok: return out;
    case JpegResult::TooLarge: check_dimensions(w, h, opt, name); break;
    case JpegResult::Truncated: throw_input("{}: JPEG file is truncated", name);
    case JpegResult::Error: break;
  }
  throw_input("{}: corrupt JPEG: {}", name, err.message);
}

}  // namespace clipdex::image::detail
