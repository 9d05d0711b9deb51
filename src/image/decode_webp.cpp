// WebP through libwebp: RGBA when the file has alpha, else RGB (as PIL's WebPImagePlugin).
#include <webp/decode.h>
#include <webp/demux.h>

#include "core/error.h"
#include "image/decoders.h"

namespace clipdex::image::detail {

namespace {
std::vector<uint8_t> webp_exif(std::span<const uint8_t> bytes) {
  WebPData data{bytes.data(), bytes.size()};
  WebPDemuxer* demux = WebPDemux(&data);
  if (!demux) return {};
  std::vector<uint8_t> exif;
  WebPChunkIterator it;
  if (WebPDemuxGetChunk(demux, "EXIF", 1, &it)) {
    exif.assign(it.chunk.bytes, it.chunk.bytes + it.chunk.size);
    WebPDemuxReleaseChunkIterator(&it);
  }
  WebPDemuxDelete(demux);
  return exif;
}
}  // namespace

Decoded decode_webp(std::span<const uint8_t> bytes, const DecodeOptions& opt, const std::string& name) {
  WebPBitstreamFeatures features;
  if (WebPGetFeatures(bytes.data(), bytes.size(), &features) != VP8_STATUS_OK)
    throw_input("{}: corrupt or truncated WebP header", name);
  check_dimensions(static_cast<uint64_t>(features.width), static_cast<uint64_t>(features.height), opt, name);
  Decoded out;
  out.image.width = features.width;
  out.image.height = features.height;
  out.image.mode = features.has_alpha ? PixelMode::RGBA : PixelMode::RGB;
  const size_t row = out.image.row_bytes();
  out.image.pixels.resize(row * static_cast<size_t>(features.height));
  const auto* ok = features.has_alpha
                       ? WebPDecodeRGBAInto(bytes.data(), bytes.size(), out.image.pixels.data(), out.image.pixels.size(),
                                            static_cast<int>(row))
                       : WebPDecodeRGBInto(bytes.data(), bytes.size(), out.image.pixels.data(), out.image.pixels.size(),
                                           static_cast<int>(row));
  if (!ok) throw_input("{}: corrupt or truncated WebP data", name);
  out.exif = webp_exif(bytes);
  return out;
}

}  // namespace clipdex::image::detail
