// HEIC/HEIF and AVIF through libheif (HEVC via libde265, AV1 via dav1d/aom): the primary image
// as libheif renders it in interleaved 8-bit RGB(A), with the container's rotation, mirror and
// crop applied (so the EXIF orientation, which HEIF says to ignore, is not applied again).
#include <libheif/heif.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "image/decoders.h"
#include "image/heif_av1.h"

namespace clipdex::image::detail {
namespace {

struct ContextFree {
  void operator()(heif_context* c) const { heif_context_free(c); }
};
struct HandleFree {
  void operator()(heif_image_handle* h) const { heif_image_handle_release(h); }
};
struct ImageFree {
  void operator()(heif_image* i) const { heif_image_release(i); }
};
struct OptionsFree {
  void operator()(heif_decoding_options* o) const { heif_decoding_options_free(o); }
};

void check(const heif_error& err, const std::string& name, const char* what) {
  if (err.code != heif_error_Ok) throw_input("{}: {} ({})", name, what, err.message ? err.message : "libheif error");
}

// The first EXIF block: 4 bytes giving the TIFF header's offset, then the payload.
std::vector<uint8_t> heif_exif(const heif_image_handle* handle) {
  heif_item_id id = 0;
  if (heif_image_handle_get_list_of_metadata_block_IDs(handle, "Exif", &id, 1) != 1) return {};
  const size_t size = heif_image_handle_get_metadata_size(handle, id);
  if (size < 4 || size > (64u << 20)) return {};
  std::vector<uint8_t> block(size);
  if (heif_image_handle_get_metadata(handle, id, block.data()).code != heif_error_Ok) return {};
  const uint32_t offset = (uint32_t{block[0]} << 24) | (uint32_t{block[1]} << 16) | (uint32_t{block[2]} << 8) | block[3];
  if (offset > size - 4) return {};
  return {block.begin() + 4 + offset, block.end()};
}

}  // namespace

Decoded decode_heif(std::span<const uint8_t> bytes, const DecodeOptions& opt, const std::string& name) {
  std::unique_ptr<heif_context, ContextFree> ctx(heif_context_alloc());
  if (!ctx) throw Error("libheif: out of memory");
  // libheif bounds images per side only (32768 by default), and a grid's or overlay's canvas
  // takes the size its own header gives, not the ispe checked below (up to 3 GB of planes).
  // Every side it reads is held to twice the side of a square of max_pixels (20,000 for the
  // default 100 MP: panoramas still open). The codec's own frame is bounded apart (heif_av1.h).
  const double side = 2.0 * std::sqrt(static_cast<double>(opt.max_pixels));
  heif_context_set_maximum_image_size_limit(ctx.get(), static_cast<int>(std::clamp(side, 64.0, 32768.0)));
  // Grid tiles decode on this thread, where the AV1 frame bound below is open (libheif would
  // otherwise start threads of its own for them).
  heif_context_set_max_decoding_threads(ctx.get(), 0);
  check(heif_context_read_from_memory_without_copy(ctx.get(), bytes.data(), bytes.size(), nullptr), name,
        "corrupt or unsupported HEIF/AVIF file");
  heif_image_handle* raw_handle = nullptr;
  check(heif_context_get_primary_image_handle(ctx.get(), &raw_handle), name, "HEIF/AVIF file has no primary image");
  std::unique_ptr<heif_image_handle, HandleFree> handle(raw_handle);
  // The size after the container's transformations, checked before any pixel is decoded.
  const int w = heif_image_handle_get_width(handle.get()), h = heif_image_handle_get_height(handle.get());
  check_dimensions(static_cast<uint64_t>(std::max(w, 0)), static_cast<uint64_t>(std::max(h, 0)), opt, name);
  const bool alpha = heif_image_handle_has_alpha_channel(handle.get()) != 0;

  std::unique_ptr<heif_decoding_options, OptionsFree> options(heif_decoding_options_alloc());
  options->ignore_transformations = opt.apply_exif_orientation ? 0 : 1;
  heif_image* raw_image = nullptr;
  const BoundedAv1Scope av1(opt.max_pixels);  // the codec's frame is bounded too, not only the container's size
  check(heif_decode_image(handle.get(), &raw_image, heif_colorspace_RGB,
                          alpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB, options.get()),
        name, "cannot decode HEIF/AVIF image");
  std::unique_ptr<heif_image, ImageFree> image(raw_image);

  Decoded out;
  out.orientation = 1;  // libheif applied the container's own transformations (or was told not to)
  out.exif = heif_exif(handle.get());
  Image& im = out.image;
  im.mode = alpha ? PixelMode::RGBA : PixelMode::RGB;
  im.width = heif_image_get_width(image.get(), heif_channel_interleaved);
  im.height = heif_image_get_height(image.get(), heif_channel_interleaved);
  check_dimensions(static_cast<uint64_t>(std::max(im.width, 0)), static_cast<uint64_t>(std::max(im.height, 0)), opt, name);
  int stride = 0;
  const uint8_t* plane = heif_image_get_plane_readonly(image.get(), heif_channel_interleaved, &stride);
  if (!plane || stride < static_cast<int>(im.row_bytes())) throw_input("{}: libheif returned no pixels", name);
  im.pixels.resize(im.row_bytes() * static_cast<size_t>(im.height));
  for (int y = 0; y < im.height; ++y)
    std::memcpy(&im.pixels[static_cast<size_t>(y) * im.row_bytes()], plane + static_cast<size_t>(y) * stride, im.row_bytes());
  return out;
}

}  // namespace clipdex::image::detail
