// GIF through giflib: the first frame only, as a palette image on the logical screen
// (PIL opens a GIF at frame 0 in mode "P"; areas outside the frame take the transparent index).
#include <gif_lib.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "image/decoders.h"

namespace clipdex::image::detail {
namespace {

struct Source {
  std::span<const uint8_t> bytes;
  size_t pos = 0;
};

int read_fn(GifFileType* gif, GifByteType* out, int n) {
  auto* s = static_cast<Source*>(gif->UserData);
  const size_t take = std::min(static_cast<size_t>(std::max(n, 0)), s->bytes.size() - s->pos);
  std::memcpy(out, s->bytes.data() + s->pos, take);
  s->pos += take;
  return static_cast<int>(take);
}

struct GifCloser {
  void operator()(GifFileType* g) const {
    int err = 0;
    DGifCloseFile(g, &err);
  }
};

// Reads extension blocks until the first image; returns the transparent index or -1.
int skip_to_first_image(GifFileType* gif, const std::string& name) {
  int transparent = -1;
  for (;;) {
    GifRecordType type;
    if (DGifGetRecordType(gif, &type) == GIF_ERROR) throw_input("{}: corrupt GIF: {}", name, GifErrorString(gif->Error));
    if (type == IMAGE_DESC_RECORD_TYPE) return transparent;
    if (type == TERMINATE_RECORD_TYPE) throw_input("{}: GIF has no image", name);
    if (type != EXTENSION_RECORD_TYPE) continue;
    int code = 0;
    GifByteType* ext = nullptr;
    if (DGifGetExtension(gif, &code, &ext) == GIF_ERROR) throw_input("{}: corrupt GIF extension", name);
    if (code == GRAPHICS_EXT_FUNC_CODE && ext && ext[0] >= 4 && (ext[1] & 1)) transparent = ext[4];
    while (ext) {
      if (DGifGetExtensionNext(gif, &ext) == GIF_ERROR) throw_input("{}: corrupt GIF extension", name);
    }
  }
}

}  // namespace

Decoded decode_gif(std::span<const uint8_t> bytes, const DecodeOptions& opt, const std::string& name) {
  Source src{bytes};
  int err = 0;
  std::unique_ptr<GifFileType, GifCloser> gif(DGifOpen(&src, read_fn, &err));
  if (!gif) throw_input("{}: corrupt GIF: {}", name, GifErrorString(err));
  check_dimensions(static_cast<uint64_t>(std::max(gif->SWidth, 0)), static_cast<uint64_t>(std::max(gif->SHeight, 0)),
                   opt, name);
  const int transparent = skip_to_first_image(gif.get(), name);
  if (DGifGetImageDesc(gif.get()) == GIF_ERROR) throw_input("{}: corrupt GIF image descriptor", name);
  const GifImageDesc& d = gif->Image;
  const ColorMapObject* cmap = d.ColorMap ? d.ColorMap : gif->SColorMap;
  if (!cmap) throw_input("{}: GIF has no colour table", name);
  if (d.Width <= 0 || d.Height <= 0 || static_cast<uint64_t>(d.Width) * d.Height > opt.max_pixels)
    throw_input("{}: GIF frame is {}x{}", name, d.Width, d.Height);

  const int sw = gif->SWidth, sh = gif->SHeight;
  std::vector<uint8_t> index(static_cast<size_t>(sw) * sh, static_cast<uint8_t>(transparent >= 0 ? transparent : 0));
  std::vector<GifPixelType> line(static_cast<size_t>(d.Width));
  // Interlaced frames store rows in four passes.
  std::vector<int> order;
  if (d.Interlace) {
    constexpr int kStart[] = {0, 4, 2, 1}, kStep[] = {8, 8, 4, 2};
    for (int pass = 0; pass < 4; ++pass)
      for (int y = kStart[pass]; y < d.Height; y += kStep[pass]) order.push_back(y);
  } else {
    for (int y = 0; y < d.Height; ++y) order.push_back(y);
  }
  for (int y : order) {
    if (DGifGetLine(gif.get(), line.data(), d.Width) == GIF_ERROR)
      throw_input("{}: GIF data is corrupt or truncated", name);
    const int ty = d.Top + y;
    if (ty < 0 || ty >= sh) continue;
    for (int x = 0; x < d.Width; ++x) {
      const int tx = d.Left + x;
      if (tx >= 0 && tx < sw) index[static_cast<size_t>(ty) * sw + tx] = line[x];
    }
  }
  Decoded out;
  out.image.width = sw;
  out.image.height = sh;
  out.image.mode = PixelMode::Palette;
  out.image.pixels.resize(index.size() * 3);
  for (size_t i = 0; i < index.size(); ++i) {
    const int c = index[i] < cmap->ColorCount ? index[i] : 0;
    out.image.pixels[i * 3 + 0] = cmap->Colors[c].Red;
    out.image.pixels[i * 3 + 1] = cmap->Colors[c].Green;
    out.image.pixels[i * 3 + 2] = cmap->Colors[c].Blue;
  }
  return out;
}

}  // namespace clipdex::image::detail
