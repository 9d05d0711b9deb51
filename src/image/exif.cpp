// EXIF orientation through libexif, and the eight orientation transforms.
#include <libexif/exif-data.h>

#include <cstring>
#include <memory>
#include <vector>

#include "image/decoders.h"

namespace clipdex::image::detail {

int exif_orientation(std::span<const uint8_t> exif) {
  // libexif expects the "Exif\0\0" prefix that JPEG APP1 has and PNG/WebP chunks lack.
  std::vector<uint8_t> data;
  if (exif.size() < 6 || std::memcmp(exif.data(), "Exif\0\0", 6) != 0) {
    data.assign({'E', 'x', 'i', 'f', 0, 0});
  }
  data.insert(data.end(), exif.begin(), exif.end());
  std::unique_ptr<ExifData, decltype(&exif_data_unref)> ed(
      exif_data_new_from_data(data.data(), static_cast<unsigned int>(data.size())), &exif_data_unref);
  if (!ed) return 1;
  ExifEntry* e = exif_content_get_entry(ed->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
  if (!e || e->format != EXIF_FORMAT_SHORT || e->components < 1 || e->size < 2) return 1;
  const int v = exif_get_short(e->data, exif_data_get_byte_order(ed.get()));
  return (v >= 1 && v <= 8) ? v : 1;
}

Image apply_orientation(const Image& im, int orientation) {
  // Output pixel (x, y) reads input pixel src(x, y); 5..8 swap the axes.
  const bool swap = orientation >= 5;
  Image out;
  out.mode = im.mode;
  out.width = swap ? im.height : im.width;
  out.height = swap ? im.width : im.height;
  const int ch = im.channels();
  out.pixels.resize(im.pixels.size());
  const int W = im.width, H = im.height;
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x) {
      int sx = x, sy = y;
      switch (orientation) {
        case 2: sx = W - 1 - x; break;                       // mirror horizontal
        case 3: sx = W - 1 - x, sy = H - 1 - y; break;       // rotate 180
        case 4: sy = H - 1 - y; break;                       // mirror vertical
        case 5: sx = y, sy = x; break;                       // transpose
        case 6: sx = y, sy = H - 1 - x; break;               // rotate 90 clockwise
        case 7: sx = W - 1 - y, sy = H - 1 - x; break;       // transverse
        case 8: sx = W - 1 - y, sy = x; break;               // rotate 90 counter-clockwise
        default: break;
      }
      std::memcpy(&out.pixels[(static_cast<size_t>(y) * out.width + x) * ch],
                  &im.pixels[(static_cast<size_t>(sy) * W + sx) * ch], static_cast<size_t>(ch));
    }
  }
  return out;
}

}  // namespace clipdex::image::detail
