#include "image/decode.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/mapped_file.h"
#include "image/decoders.h"

namespace clipdex::image {

namespace {
bool starts_with(std::span<const uint8_t> b, const char* magic, size_t offset = 0) {
  const size_t n = std::strlen(magic);
  return b.size() >= offset + n && std::memcmp(b.data() + offset, magic, n) == 0;
}
// ISO base media files: HEIF ("heif") or AVIF ("avif") by the major brand, or by the compatible
// brands for the generic "mif1"/"msf1"; "" for other ftyp files (MP4 video, ...).
std::string heif_brand(std::span<const uint8_t> b) {
  const auto brand_at = [&](size_t off) { return std::string(reinterpret_cast<const char*>(b.data() + off), 4); };
  if (b.size() < 16) return "";
  const uint32_t box = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
  const size_t end = std::min<size_t>(b.size(), std::max<uint32_t>(box, 16));
  std::vector<std::string> brands{brand_at(8)};
  for (size_t off = 16; off + 4 <= end; off += 4) brands.push_back(brand_at(off));
  for (const auto& br : brands)
    if (br == "avif" || br == "avis") return "avif";
  for (const auto& br : brands)
    if (br == "heic" || br == "heix" || br == "heim" || br == "heis" || br == "hevc" || br == "hevx" || br == "mif1" ||
        br == "msf1")
      return "heif";
  return "";
}

}  // namespace

std::string detect_format(std::span<const uint8_t> b) {
  if (b.size() >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff) return "jpeg";
  if (starts_with(b, "\x89PNG\r\n\x1a\n")) return "png";
  if (starts_with(b, "RIFF") && starts_with(b, "WEBP", 8)) return "webp";
  if (starts_with(b, "GIF87a") || starts_with(b, "GIF89a")) return "gif";
  if (starts_with(b, "BM")) return "bmp";
  if (starts_with(b, "II*\0") || starts_with(b, "MM\0*")) return "tiff";
  if (starts_with(b, "ftyp", 4)) return heif_brand(b);
  return "";
}

namespace detail {
void check_dimensions(uint64_t width, uint64_t height, const DecodeOptions& opt, const std::string& name) {
  if (width == 0 || height == 0) throw_input("{}: image has no pixels ({}x{})", name, width, height);
  if (width > (1u << 30) || height > (1u << 30) || width * height > opt.max_pixels)
    throw_input("{}: image is {}x{} = {} pixels, over the limit of {} pixels", name, width, height, width * height,
                opt.max_pixels);
}
}  // namespace detail

Image decode_image(std::span<const uint8_t> bytes, const DecodeOptions& options, const std::string& name,
                   SourceInfo* source) {
  if (bytes.empty()) throw_input("{}: file is empty", name);
  const std::string format = detect_format(bytes);
  detail::Decoded d;
  if (format == "jpeg") d = detail::decode_jpeg(bytes, options, name);
  else if (format == "png") d = detail::decode_png(bytes, options, name);
  else if (format == "webp") d = detail::decode_webp(bytes, options, name);
  else if (format == "gif") d = detail::decode_gif(bytes, options, name);
  else if (format == "bmp") d = detail::decode_bmp(bytes, options, name);
  else if (format == "tiff") d = detail::decode_tiff(bytes, options, name);
  else if (format == "heif" || format == "avif") d = detail::decode_heif(bytes, options, name);
  else throw_input("{}: not a supported image (JPEG, PNG, WebP, GIF, BMP, TIFF, HEIC/HEIF or AVIF)", name);
  const auto exif = d.tags ? *d.tags : detail::read_exif(d.exif);
  const int orientation = d.orientation ? d.orientation : exif.orientation;
  const bool oriented = options.apply_exif_orientation && orientation > 1 && orientation <= 8;
  if (source) {
    const int w = d.source_width ? d.source_width : d.image.width;
    const int h = d.source_height ? d.source_height : d.image.height;
    const bool swapped = oriented && orientation >= 5;  // orientations 5-8 turn by 90 degrees
    *source = {swapped ? h : w, swapped ? w : h, format, exif.taken_at, exif.camera_make, exif.camera_model};
  }
  if (oriented) return detail::apply_orientation(d.image, orientation);
  return std::move(d.image);
}

Image decode_image_file(const std::string& path, const DecodeOptions& options, SourceInfo* source) {
  // Read, not mapped: a file truncated by another process while mapped would raise SIGBUS.
  const std::string bytes = read_file(path);
  return decode_image({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, options, path, source);
}

}  // namespace clipdex::image
