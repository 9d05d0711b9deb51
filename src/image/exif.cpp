// EXIF tags through libexif (orientation, date taken, camera), and the eight orientation transforms.
#include <libexif/exif-data.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "core/civil_date.h"
#include "image/decoders.h"

namespace clipdex::image::detail {

namespace {

using ExifPtr = std::unique_ptr<ExifData, decltype(&exif_data_unref)>;

std::string ascii_tag(ExifData* ed, ExifIfd ifd, ExifTag tag) {
  ExifEntry* e = exif_content_get_entry(ed->ifd[ifd], tag);
  if (!e || e->format != EXIF_FORMAT_ASCII || !e->data) return "";
  return printable_ascii({reinterpret_cast<const char*>(e->data), e->size});
}

}  // namespace

std::string printable_ascii(std::string_view tag) {
  tag = tag.substr(0, tag.find('\0'));
  std::string out;
  for (char c : tag)
    if (c >= 0x20 && c < 0x7f) out += c;
  const auto last = out.find_last_not_of(' ');
  return last == std::string::npos ? "" : out.substr(0, last + 1);
}

std::optional<int64_t> parse_exif_datetime(const std::string& text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  char sep1 = 0, sep2 = 0;
  if (std::sscanf(text.c_str(), "%4d%c%2d%c%2d %2d:%2d:%2d", &y, &sep1, &mo, &sep2, &d, &h, &mi, &s) != 8) return std::nullopt;
  if (sep1 != sep2 || (sep1 != ':' && sep1 != '-')) return std::nullopt;
  if (y < 1800 || y > 9999 || mo < 1 || mo > 12 || d < 1 || static_cast<unsigned>(d) > days_in_month(y, static_cast<unsigned>(mo)) || h > 23 || mi > 59 || s > 60 || h < 0 || mi < 0 || s < 0)
    return std::nullopt;
  return days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 + mi * 60 + s;
}

ExifTags read_exif(std::span<const uint8_t> exif) {
  ExifTags tags;
  if (exif.empty()) return tags;
  // libexif expects the "Exif\0\0" prefix that JPEG APP1 has and PNG/WebP/HEIF payloads lack.
  std::vector<uint8_t> data;
  if (exif.size() < 6 || std::memcmp(exif.data(), "Exif\0\0", 6) != 0) data.assign({'E', 'x', 'i', 'f', 0, 0});
  data.insert(data.end(), exif.begin(), exif.end());
  ExifPtr ed(exif_data_new_from_data(data.data(), static_cast<unsigned int>(data.size())), &exif_data_unref);
  if (!ed) return tags;
  if (ExifEntry* e = exif_content_get_entry(ed->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
      e && e->format == EXIF_FORMAT_SHORT && e->components >= 1 && e->size >= 2) {
    const int v = exif_get_short(e->data, exif_data_get_byte_order(ed.get()));
    if (v >= 1 && v <= 8) tags.orientation = v;
  }
  for (ExifTag t : {EXIF_TAG_DATE_TIME_ORIGINAL, EXIF_TAG_DATE_TIME_DIGITIZED})
    if (!tags.taken_at) tags.taken_at = parse_exif_datetime(ascii_tag(ed.get(), EXIF_IFD_EXIF, t));
  tags.camera_make = ascii_tag(ed.get(), EXIF_IFD_0, EXIF_TAG_MAKE);
  tags.camera_model = ascii_tag(ed.get(), EXIF_IFD_0, EXIF_TAG_MODEL);
  return tags;
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
