#include "image/heif_av1.h"

#include <dav1d/dav1d.h>
#include <libheif/heif.h>
#include <libheif/heif_plugin.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <vector>

namespace clipdex::image::detail {
namespace {

// The frame budget of the BoundedAv1Scope open on this thread; 0: none open (libheif's decoder).
thread_local uint64_t tls_max_pixels = 0;

constexpr int kPriority = 200;  // above libheif's dav1d (150) and aom (100)

struct Decoder {
  std::vector<uint8_t> data;
  uint64_t max_pixels = 0;
};

heif_error ok() { return {heif_error_Ok, heif_suberror_Unspecified, ""}; }
heif_error failed(const char* why) { return {heif_error_Decoder_plugin_error, heif_suberror_Unspecified, why}; }

const char* plugin_name() { return "clipdex bounded dav1d"; }

int supports(heif_compression_format format) {
  return format == heif_compression_AV1 && tls_max_pixels != 0 ? kPriority : 0;
}

heif_error new_decoder(void** out) {
  auto* d = new Decoder;
  d->max_pixels = tls_max_pixels;
  *out = d;
  return ok();
}

void free_decoder(void* d) { delete static_cast<Decoder*>(d); }

heif_error push_data(void* raw, const void* bytes, size_t size) {
  auto& data = static_cast<Decoder*>(raw)->data;
  data.insert(data.end(), static_cast<const uint8_t*>(bytes), static_cast<const uint8_t*>(bytes) + size);
  return ok();
}

void no_strict(void*, int) {}

struct ContextClose {
  void operator()(Dav1dContext* c) const { dav1d_close(&c); }
};

// The one picture of an image item. Gives up (EAGAIN) once a round neither hands dav1d data nor
// gets a picture back twice: a stream that never yields one must not spin the indexer forever.
int decode_picture(Dav1dContext* ctx, Dav1dData& in, Dav1dPicture& picture) {
  for (int stalls = 0; stalls < 2;) {
    const size_t before = in.sz;
    if (in.sz > 0) {
      const int sent = dav1d_send_data(ctx, &in);
      if (sent < 0 && sent != DAV1D_ERR(EAGAIN)) return sent;
    }
    const int got = dav1d_get_picture(ctx, &picture);
    if (got != DAV1D_ERR(EAGAIN)) return got;
    if (in.sz == before) ++stalls;
  }
  return DAV1D_ERR(EAGAIN);
}

heif_error to_heif_image(const Dav1dPicture& p, heif_image** out) {
  heif_chroma chroma = heif_chroma_420;
  heif_colorspace space = heif_colorspace_YCbCr;
  switch (p.p.layout) {
    case DAV1D_PIXEL_LAYOUT_I420: chroma = heif_chroma_420; break;
    case DAV1D_PIXEL_LAYOUT_I422: chroma = heif_chroma_422; break;
    case DAV1D_PIXEL_LAYOUT_I444: chroma = heif_chroma_444; break;
    case DAV1D_PIXEL_LAYOUT_I400:
      chroma = heif_chroma_monochrome;
      space = heif_colorspace_monochrome;
      break;
    default: return failed("unknown AV1 pixel layout");
  }
  heif_image* im = nullptr;
  if (const heif_error e = heif_image_create(p.p.w, p.p.h, space, chroma, &im); e.code != heif_error_Ok) return e;
  // The colour description the stream carries, as libheif's own decoder passes it on.
  if (heif_color_profile_nclx* nclx = heif_nclx_color_profile_alloc()) {
    heif_nclx_color_profile_set_color_primaries(nclx, static_cast<uint16_t>(p.seq_hdr->pri));
    heif_nclx_color_profile_set_transfer_characteristics(nclx, static_cast<uint16_t>(p.seq_hdr->trc));
    heif_nclx_color_profile_set_matrix_coefficients(nclx, static_cast<uint16_t>(p.seq_hdr->mtrx));
    nclx->full_range_flag = p.seq_hdr->color_range != 0;
    heif_image_set_nclx_color_profile(im, nclx);
    heif_nclx_color_profile_free(nclx);
  }
  const heif_channel channels[3] = {heif_channel_Y, heif_channel_Cb, heif_channel_Cr};
  const int planes = chroma == heif_chroma_monochrome ? 1 : 3;
  const int bytes = (p.p.bpc + 7) / 8;
  for (int c = 0; c < planes; ++c) {
    const bool sub_x = c > 0 && chroma != heif_chroma_444, sub_y = c > 0 && chroma == heif_chroma_420;
    const int w = sub_x ? (p.p.w + 1) / 2 : p.p.w, h = sub_y ? (p.p.h + 1) / 2 : p.p.h;
    if (const heif_error e = heif_image_add_plane(im, channels[c], w, h, p.p.bpc); e.code != heif_error_Ok) {
      heif_image_release(im);
      return e;
    }
    int stride = 0;
    uint8_t* dst = heif_image_get_plane(im, channels[c], &stride);
    const auto* src = static_cast<const uint8_t*>(p.data[c]);
    const ptrdiff_t src_stride = p.stride[c > 0 ? 1 : 0];
    for (int y = 0; y < h; ++y)
      std::memcpy(dst + static_cast<ptrdiff_t>(y) * stride, src + y * src_stride, static_cast<size_t>(w) * bytes);
  }
  *out = im;
  return ok();
}

heif_error decode_image(void* raw, heif_image** out) {
  auto& d = *static_cast<Decoder*>(raw);
  if (d.data.empty()) return failed("the image item holds no AV1 data");
  Dav1dSettings settings;
  dav1d_default_settings(&settings);
  // The bound: dav1d refuses a frame header past it before allocating the frame.
  settings.frame_size_limit = static_cast<unsigned>(
      std::min<uint64_t>(d.max_pixels, std::numeric_limits<unsigned>::max()));
  settings.all_layers = 0;
  settings.n_threads = 1;  // one still image: no frame threads and their buffers
  settings.max_frame_delay = 1;
  Dav1dContext* raw_ctx = nullptr;
  if (dav1d_open(&raw_ctx, &settings) != 0) return failed("cannot start dav1d");
  std::unique_ptr<Dav1dContext, ContextClose> ctx(raw_ctx);
  Dav1dData in{};
  uint8_t* buffer = dav1d_data_create(&in, d.data.size());
  if (!buffer) return {heif_error_Memory_allocation_error, heif_suberror_Unspecified, "dav1d: out of memory"};
  std::memcpy(buffer, d.data.data(), d.data.size());
  Dav1dPicture picture{};
  const int res = decode_picture(ctx.get(), in, picture);
  if (in.sz > 0) dav1d_data_unref(&in);
  if (res < 0) return failed("AV1 frame undecodable or larger than the pixel limit");
  const heif_error e = to_heif_image(picture, out);
  dav1d_picture_unref(&picture);
  return e;
}

// Plugin API 3: version 2's functions plus an id name.
const heif_decoder_plugin kPlugin = {3,         plugin_name,  nullptr,   nullptr,          supports, new_decoder,
                                     free_decoder, push_data, decode_image, no_strict, "clipdex-dav1d"};

}  // namespace

BoundedAv1Scope::BoundedAv1Scope(uint64_t max_pixels) : previous_(tls_max_pixels) {
  static std::once_flag registered;
  std::call_once(registered, [] { heif_register_decoder_plugin(&kPlugin); });
  tls_max_pixels = std::max<uint64_t>(1, max_pixels);
}

BoundedAv1Scope::~BoundedAv1Scope() { tls_max_pixels = previous_; }

}  // namespace clipdex::image::detail
