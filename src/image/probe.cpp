#include "image/probe.h"

#include <webp/decode.h>

#include <cstdlib>
#include <string>

#include "image/decode.h"

namespace clipdex::image {
namespace {

uint32_t be16(std::span<const uint8_t> b, size_t i) { return uint32_t{b[i]} << 8 | b[i + 1]; }
uint32_t be32(std::span<const uint8_t> b, size_t i) { return be16(b, i) << 16 | be16(b, i + 2); }
uint32_t le16(std::span<const uint8_t> b, size_t i) { return uint32_t{b[i + 1]} << 8 | b[i]; }
uint32_t le32(std::span<const uint8_t> b, size_t i) { return le16(b, i + 2) << 16 | le16(b, i); }

// Walks the marker segments to the first start-of-frame (SOF0..SOF15 but DHT, JPG, DAC).
std::optional<std::pair<uint32_t, uint32_t>> jpeg_size(std::span<const uint8_t> b) {
  size_t i = 2;
  while (i + 9 < b.size()) {
    if (b[i] != 0xFF) return std::nullopt;
    const uint8_t marker = b[i + 1];
    if (marker == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {  // no length
      i += 2;
      continue;
    }
    const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof) return std::pair{be16(b, i + 7), be16(b, i + 5)};
    if (marker == 0xDA || marker == 0xD9) return std::nullopt;  // scan data before any frame header
    i += 2 + be16(b, i + 2);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::pair<uint32_t, uint32_t>> probe_size(std::span<const uint8_t> b) {
  const std::string format = detect_format(b);
  if (format == "jpeg") return jpeg_size(b);
  if (format == "png" && b.size() >= 24) return std::pair{be32(b, 16), be32(b, 20)};
  if (format == "gif" && b.size() >= 10) return std::pair{le16(b, 6), le16(b, 8)};
  if (format == "bmp" && b.size() >= 26)
    return std::pair{le32(b, 18), static_cast<uint32_t>(std::llabs(int64_t{static_cast<int32_t>(le32(b, 22))}))};
  if (format == "webp") {
    int w = 0, h = 0;
    if (WebPGetInfo(b.data(), b.size(), &w, &h)) return std::pair{static_cast<uint32_t>(w), static_cast<uint32_t>(h)};
  }
  return std::nullopt;
}

}  // namespace clipdex::image
