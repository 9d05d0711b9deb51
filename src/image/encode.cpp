#include "image/encode.h"

#include <cstdio>
#include <cstdlib>

#include <jpeglib.h>

#include <algorithm>
#include <memory>

#include "core/error.h"
#include "image/resample.h"

namespace clipdex::image {

std::vector<uint8_t> encode_jpeg(const Image& src, int quality) {
  const Image im = to_rgb(src);
  jpeg_compress_struct c{};
  jpeg_error_mgr err{};
  c.err = jpeg_std_error(&err);  // errors here are programming errors (valid RGB input)
  jpeg_create_compress(&c);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &buf, &size);
  c.image_width = static_cast<JDIMENSION>(im.width);
  c.image_height = static_cast<JDIMENSION>(im.height);
  c.input_components = 3;
  c.in_color_space = JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, std::clamp(quality, 1, 100), TRUE);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(&im.pixels[c.next_scanline * im.row_bytes()]);
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  std::unique_ptr<unsigned char, decltype(&std::free)> owned(buf, &std::free);
  return std::vector<uint8_t>(buf, buf + size);
}

Image thumbnail(const Image& im, int max_side) {
  CLIPDEX_CHECK_INPUT(max_side > 0 && max_side <= 4096, "thumbnail size {} is out of range", max_side);
  const int longer = std::max(im.width, im.height);
  if (longer <= max_side) return to_rgb(im);
  const double s = static_cast<double>(max_side) / longer;
  const int w = std::max(1, static_cast<int>(im.width * s + 0.5)), h = std::max(1, static_cast<int>(im.height * s + 0.5));
  return to_rgb(resize(im, w, h, Filter::Bilinear));
}

}  // namespace clipdex::image
