// TIFF, HEIC and AVIF: files written here with the libraries' own encoders (libtiff, libheif
// with x265 / aom) decode to the pixels that went in (exactly for TIFF, as PIL reads them; within
// the codec's loss for HEIC/AVIF, and exactly what libheif itself renders), with orientation
// applied once and the EXIF date / camera read.
#include <gtest/gtest.h>
#include <libexif/exif-data.h>
#include <libheif/heif.h>
#include <tiffio.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <memory>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"
#include "image/decode.h"
#include "image/decoders.h"
#include "image/preprocess.h"
#include "core/safetensors.h"
#include "test_util.h"

using namespace clipdex;
using namespace clipdex::image;

namespace {

// A picture with detail in every channel, so a transposed or mirrored decode cannot pass.
std::vector<uint8_t> test_pixels(int w, int h, int ch) {
  std::vector<uint8_t> p(static_cast<size_t>(w) * h * ch);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < ch; ++c)
        p[(static_cast<size_t>(y) * w + x) * ch + c] =
            static_cast<uint8_t>(c == 3 ? 128 + (x * 7 + y) % 128 : (x * (3 + c) + y * (5 - c) + 40 * c) % 256);
  return p;
}

Image decode_file(const std::string& path, SourceInfo* info = nullptr, bool orient = true) {
  DecodeOptions opt;
  opt.apply_exif_orientation = orient;
  return decode_image_file(path, opt, info);
}

struct TiffSpec {
  int width = 23, height = 17, samples = 3;
  uint16_t photometric = PHOTOMETRIC_RGB;
  uint16_t compression = COMPRESSION_LZW;
  bool tiled = false, alpha = false;
  uint16_t orientation = ORIENTATION_TOPLEFT;
  std::string make, datetime;
};

// Writes spec's picture (test_pixels) as a TIFF with libtiff.
void write_tiff(const std::string& path, const TiffSpec& s, const std::vector<uint8_t>& px) {
  std::unique_ptr<TIFF, decltype(&TIFFClose)> t(TIFFOpen(path.c_str(), "w"), &TIFFClose);
  ASSERT_TRUE(t);
  TIFFSetField(t.get(), TIFFTAG_IMAGEWIDTH, s.width);
  TIFFSetField(t.get(), TIFFTAG_IMAGELENGTH, s.height);
  TIFFSetField(t.get(), TIFFTAG_BITSPERSAMPLE, 8);
  TIFFSetField(t.get(), TIFFTAG_SAMPLESPERPIXEL, s.samples);
  TIFFSetField(t.get(), TIFFTAG_PHOTOMETRIC, s.photometric);
  TIFFSetField(t.get(), TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField(t.get(), TIFFTAG_COMPRESSION, s.compression);
  TIFFSetField(t.get(), TIFFTAG_ORIENTATION, s.orientation);
  if (s.alpha) {
    const uint16_t extra[] = {EXTRASAMPLE_UNASSALPHA};
    TIFFSetField(t.get(), TIFFTAG_EXTRASAMPLES, 1, extra);
  }
  if (!s.make.empty()) TIFFSetField(t.get(), TIFFTAG_MAKE, s.make.c_str());
  if (!s.datetime.empty()) TIFFSetField(t.get(), TIFFTAG_DATETIME, s.datetime.c_str());
  const size_t row = static_cast<size_t>(s.width) * s.samples;
  if (s.tiled) {
    const int tile = 16;
    TIFFSetField(t.get(), TIFFTAG_TILEWIDTH, tile);
    TIFFSetField(t.get(), TIFFTAG_TILELENGTH, tile);
    std::vector<uint8_t> buf(static_cast<size_t>(tile) * tile * s.samples);
    for (int y0 = 0; y0 < s.height; y0 += tile)
      for (int x0 = 0; x0 < s.width; x0 += tile) {
        std::fill(buf.begin(), buf.end(), 0);
        for (int y = y0; y < std::min(y0 + tile, s.height); ++y)
          for (int x = x0; x < std::min(x0 + tile, s.width); ++x)
            std::memcpy(&buf[(static_cast<size_t>(y - y0) * tile + (x - x0)) * s.samples], &px[y * row + x * s.samples], s.samples);
        ASSERT_GE(TIFFWriteTile(t.get(), buf.data(), x0, y0, 0, 0), 0);
      }
  } else {
    TIFFSetField(t.get(), TIFFTAG_ROWSPERSTRIP, 5);
    for (int y = 0; y < s.height; ++y) ASSERT_EQ(TIFFWriteScanline(t.get(), const_cast<uint8_t*>(&px[y * row]), y, 0), 1);
  }
}

// An EXIF payload with a date taken and a camera, made with libexif ("Exif\0\0" first).
std::vector<uint8_t> make_exif(const char* taken, const char* make, const char* model) {
  std::unique_ptr<ExifData, decltype(&exif_data_unref)> ed(exif_data_new(), &exif_data_unref);
  exif_data_set_byte_order(ed.get(), EXIF_BYTE_ORDER_INTEL);
  auto add_ascii = [&](ExifIfd ifd, ExifTag tag, const char* value) {
    ExifEntry* e = exif_entry_new();
    exif_content_add_entry(ed->ifd[ifd], e);
    exif_entry_initialize(e, tag);
    const size_t n = std::strlen(value) + 1;
    // exif_entry_initialize may have allocated a default value; replace it with ours.
    ExifMem* mem = exif_mem_new_default();
    if (e->data) exif_mem_free(mem, e->data);
    e->data = static_cast<unsigned char*>(exif_mem_alloc(mem, static_cast<ExifLong>(n)));
    std::memcpy(e->data, value, n);
    e->size = static_cast<unsigned int>(n);
    e->components = n;
    e->format = EXIF_FORMAT_ASCII;
    exif_mem_unref(mem);
    exif_entry_unref(e);
  };
  add_ascii(EXIF_IFD_0, EXIF_TAG_MAKE, make);
  add_ascii(EXIF_IFD_0, EXIF_TAG_MODEL, model);
  add_ascii(EXIF_IFD_EXIF, EXIF_TAG_DATE_TIME_ORIGINAL, taken);
  unsigned char* buf = nullptr;
  unsigned int size = 0;
  exif_data_save_data(ed.get(), &buf, &size);
  std::vector<uint8_t> out(buf, buf + size);
  free(buf);
  return out;
}

struct HeifSpec {
  heif_compression_format codec = heif_compression_HEVC;
  int width = 64, height = 48;
  heif_orientation orientation = heif_orientation_normal;
  std::vector<uint8_t> exif;
};

void write_heif(const std::string& path, const HeifSpec& s, const std::vector<uint8_t>& rgb) {
  std::unique_ptr<heif_context, decltype(&heif_context_free)> ctx(heif_context_alloc(), &heif_context_free);
  heif_image* raw = nullptr;
  ASSERT_EQ(heif_image_create(s.width, s.height, heif_colorspace_RGB, heif_chroma_interleaved_RGB, &raw).code, heif_error_Ok);
  std::unique_ptr<heif_image, decltype(&heif_image_release)> im(raw, &heif_image_release);
  ASSERT_EQ(heif_image_add_plane(im.get(), heif_channel_interleaved, s.width, s.height, 8).code, heif_error_Ok);
  int stride = 0;
  uint8_t* plane = heif_image_get_plane(im.get(), heif_channel_interleaved, &stride);
  for (int y = 0; y < s.height; ++y) std::memcpy(plane + y * stride, &rgb[static_cast<size_t>(y) * s.width * 3], s.width * 3);
  heif_encoder* enc = nullptr;
  ASSERT_EQ(heif_context_get_encoder_for_format(ctx.get(), s.codec, &enc).code, heif_error_Ok);
  heif_encoder_set_lossy_quality(enc, 95);
  std::unique_ptr<heif_encoding_options, decltype(&heif_encoding_options_free)> opt(heif_encoding_options_alloc(),
                                                                                    &heif_encoding_options_free);
  opt->image_orientation = s.orientation;
  heif_image_handle* handle = nullptr;
  const auto err = heif_context_encode_image(ctx.get(), im.get(), enc, opt.get(), &handle);
  heif_encoder_release(enc);
  ASSERT_EQ(err.code, heif_error_Ok) << err.message;
  if (!s.exif.empty()) {
    ASSERT_EQ(heif_context_add_exif_metadata(ctx.get(), handle, s.exif.data(), static_cast<int>(s.exif.size())).code, heif_error_Ok);
  }
  heif_image_handle_release(handle);
  ASSERT_EQ(heif_context_write_to_file(ctx.get(), path.c_str()).code, heif_error_Ok);
}

// What libheif itself renders for a file (the reference for HEIC/AVIF pixels).
std::vector<uint8_t> libheif_rgb(const std::string& path, int& w, int& h) {
  std::unique_ptr<heif_context, decltype(&heif_context_free)> ctx(heif_context_alloc(), &heif_context_free);
  EXPECT_EQ(heif_context_read_from_file(ctx.get(), path.c_str(), nullptr).code, heif_error_Ok);
  heif_image_handle* handle = nullptr;
  heif_context_get_primary_image_handle(ctx.get(), &handle);
  heif_image* im = nullptr;
  EXPECT_EQ(heif_decode_image(handle, &im, heif_colorspace_RGB, heif_chroma_interleaved_RGB, nullptr).code, heif_error_Ok);
  w = heif_image_get_width(im, heif_channel_interleaved);
  h = heif_image_get_height(im, heif_channel_interleaved);
  int stride = 0;
  const uint8_t* p = heif_image_get_plane_readonly(im, heif_channel_interleaved, &stride);
  std::vector<uint8_t> out(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y) std::memcpy(&out[static_cast<size_t>(y) * w * 3], p + y * stride, w * 3);
  heif_image_release(im);
  heif_image_handle_release(handle);
  return out;
}

double mean_abs_diff(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += std::abs(int(a[i]) - int(b[i]));
  return s / double(a.size());
}

}  // namespace

TEST(Tiff, EightBitLayoutsDecodeToTheStoredPixels) {
  const std::string dir = test::scratch_dir("tiff_layouts");
  struct Case {
    const char* name;
    TiffSpec spec;
    PixelMode mode;
  };
  const auto spec = [](int samples, uint16_t photometric, uint16_t compression, bool tiled, bool alpha) {
    TiffSpec s;
    s.samples = samples, s.photometric = photometric, s.compression = compression, s.tiled = tiled, s.alpha = alpha;
    return s;
  };
  const std::vector<Case> cases = {
      {"rgb-lzw", spec(3, PHOTOMETRIC_RGB, COMPRESSION_LZW, false, false), PixelMode::RGB},
      {"rgb-deflate-tiled", spec(3, PHOTOMETRIC_RGB, COMPRESSION_ADOBE_DEFLATE, true, false), PixelMode::RGB},
      {"rgba", spec(4, PHOTOMETRIC_RGB, COMPRESSION_PACKBITS, false, true), PixelMode::RGBA},
      {"grey", spec(1, PHOTOMETRIC_MINISBLACK, COMPRESSION_NONE, false, false), PixelMode::L},
      {"grey-alpha", spec(2, PHOTOMETRIC_MINISBLACK, COMPRESSION_LZW, false, true), PixelMode::LA},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto px = test_pixels(c.spec.width, c.spec.height, c.spec.samples);
    const std::string path = dir + "/" + c.name + ".tif";
    write_tiff(path, c.spec, px);
    SourceInfo info;
    const Image im = decode_file(path, &info);
    EXPECT_EQ(info.format, "tiff");
    EXPECT_EQ(im.mode, c.mode);
    ASSERT_EQ(im.width, c.spec.width);
    ASSERT_EQ(im.height, c.spec.height);
    EXPECT_EQ(im.pixels, px);
  }
}

TEST(Tiff, OrientationTagAndCameraTagsAreRead) {
  const std::string dir = test::scratch_dir("tiff_orientation");
  TiffSpec s;
  s.orientation = ORIENTATION_RIGHTTOP;  // 6: shown turned 90 degrees clockwise
  s.make = "TestCam";
  s.datetime = "2021:07:04 12:30:00";
  const auto px = test_pixels(s.width, s.height, 3);
  write_tiff(dir + "/o6.tif", s, px);
  SourceInfo info;
  const Image turned = decode_file(dir + "/o6.tif", &info);
  EXPECT_EQ(turned.width, s.height);
  EXPECT_EQ(turned.height, s.width);
  EXPECT_EQ(info.width, s.height);
  // Rotated 90 clockwise: the stored bottom-left pixel lands at the top-left.
  EXPECT_EQ(0, std::memcmp(&turned.pixels[0], &px[static_cast<size_t>(s.height - 1) * s.width * 3], 3));
  const Image stored = decode_file(dir + "/o6.tif", nullptr, /*orient=*/false);
  EXPECT_EQ(stored.pixels, px);
  EXPECT_EQ(info.camera_make, "TestCam");
  ASSERT_TRUE(info.taken_at.has_value());
  EXPECT_EQ(*info.taken_at, 1625401800);  // 2021-07-04 12:30:00 read as UTC
}

TEST(Tiff, OtherLayoutsGoThroughLibtiffsRgba) {
  const std::string dir = test::scratch_dir("tiff_palette");
  // A 2-colour palette image: PIL keeps mode P (resized with nearest); so do we.
  const int w = 9, h = 4;
  {
    std::unique_ptr<TIFF, decltype(&TIFFClose)> t(TIFFOpen((dir + "/p.tif").c_str(), "w"), &TIFFClose);
    TIFFSetField(t.get(), TIFFTAG_IMAGEWIDTH, w);
    TIFFSetField(t.get(), TIFFTAG_IMAGELENGTH, h);
    TIFFSetField(t.get(), TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t.get(), TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(t.get(), TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_PALETTE);
    std::vector<uint16_t> r(256, 0), g(256, 0), b(256, 0);
    r[1] = 255 * 257, g[1] = 128 * 257, b[1] = 7 * 257;
    TIFFSetField(t.get(), TIFFTAG_COLORMAP, r.data(), g.data(), b.data());
    for (int y = 0; y < h; ++y) {
      std::vector<uint8_t> row(w);
      for (int x = 0; x < w; ++x) row[x] = (x + y) % 2;
      TIFFWriteScanline(t.get(), row.data(), y, 0);
    }
  }
  const Image im = decode_file(dir + "/p.tif");
  EXPECT_EQ(im.mode, PixelMode::Palette);
  ASSERT_EQ(im.width, w);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const uint8_t* p = &im.pixels[(static_cast<size_t>(y) * w + x) * 3];
      const bool one = (x + y) % 2;
      EXPECT_EQ(p[0], one ? 255 : 0);
      EXPECT_EQ(p[1], one ? 128 : 0);
      EXPECT_EQ(p[2], one ? 7 : 0);
    }
}

TEST(Tiff, CorruptFilesGiveInputErrors) {
  const std::string dir = test::scratch_dir("tiff_corrupt");
  TiffSpec s;
  const auto px = test_pixels(s.width, s.height, 3);
  write_tiff(dir + "/ok.tif", s, px);
  const std::string bytes = read_file(dir + "/ok.tif");
  for (size_t keep : {size_t{4}, size_t{12}, bytes.size() / 2}) {
    const auto cut = std::span(reinterpret_cast<const uint8_t*>(bytes.data()), keep);
    EXPECT_THROW(decode_image(cut), InputError) << keep;
  }
}

TEST(Heif, HeicAndAvifDecodeAsLibheifRendersThem) {
  const std::string dir = test::scratch_dir("heif_pixels");
  for (auto codec : {heif_compression_HEVC, heif_compression_AV1}) {
    const bool avif = codec == heif_compression_AV1;
    SCOPED_TRACE(avif ? "avif" : "heic");
    HeifSpec s;
    s.codec = codec;
    const auto px = test_pixels(s.width, s.height, 3);
    const std::string path = dir + (avif ? "/t.avif" : "/t.heic");
    write_heif(path, s, px);
    SourceInfo info;
    const Image im = decode_file(path, &info);
    EXPECT_EQ(info.format, avif ? "avif" : "heif");
    EXPECT_EQ(im.mode, PixelMode::RGB);
    ASSERT_EQ(im.width, s.width);
    ASSERT_EQ(im.height, s.height);
    int w = 0, h = 0;
    EXPECT_EQ(im.pixels, libheif_rgb(path, w, h));
    // And close to what was encoded (a lossy codec at quality 95).
    EXPECT_LT(mean_abs_diff(im.pixels, px), 6.0);
  }
}

TEST(Heif, ContainerRotationIsAppliedOnceAndExifIsRead) {
  const std::string dir = test::scratch_dir("heif_rotation");
  HeifSpec s;
  s.orientation = heif_orientation_rotate_90_cw;
  s.exif = make_exif("2019:12:31 23:59:58", "PhoneMaker", "Phone 12");
  const auto px = test_pixels(s.width, s.height, 3);
  write_heif(dir + "/r.heic", s, px);
  SourceInfo info;
  const Image im = decode_file(dir + "/r.heic", &info);
  EXPECT_EQ(im.width, s.height);
  EXPECT_EQ(im.height, s.width);
  EXPECT_EQ(info.width, s.height);
  int w = 0, h = 0;
  EXPECT_EQ(im.pixels, libheif_rgb(dir + "/r.heic", w, h));
  EXPECT_EQ(info.camera_make, "PhoneMaker");
  EXPECT_EQ(info.camera_model, "Phone 12");
  ASSERT_TRUE(info.taken_at.has_value());
  EXPECT_EQ(*info.taken_at, 1577836798);
  const Image stored = decode_file(dir + "/r.heic", nullptr, /*orient=*/false);
  EXPECT_EQ(stored.width, s.width);
}

TEST(Heif, CorruptFilesGiveInputErrors) {
  const std::string dir = test::scratch_dir("heif_corrupt");
  write_heif(dir + "/ok.heic", {}, test_pixels(64, 48, 3));
  const std::string bytes = read_file(dir + "/ok.heic");
  for (size_t keep : {size_t{16}, size_t{40}, bytes.size() / 2, bytes.size() - 10}) {
    const auto cut = std::span(reinterpret_cast<const uint8_t*>(bytes.data()), keep);
    EXPECT_THROW(decode_image(cut), InputError) << keep;
  }
}

// libheif is held to sides of at most 2 * sqrt(max_pixels): a long strip within the pixel budget
// but past that side is refused while reading (where a hostile grid canvas would be), and opens
// under the default budget.
TEST(Heif, SidesAreBoundedByThePixelBudget) {
  const std::string dir = test::scratch_dir("heif_sides");
  HeifSpec s;
  s.width = 260;
  s.height = 30;
  write_heif(dir + "/strip.heic", s, test_pixels(s.width, s.height, 3));
  DecodeOptions small;
  small.max_pixels = 10'000;  // 7,800 pixels fit; a side of 260 > 2 * 100 does not
  try {
    decode_image_file(dir + "/strip.heic", small);
    ADD_FAILURE() << "a 260-wide HEIF opened under a 200-pixel side limit";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("exceeds the maximum image size"), std::string::npos) << e.what();
  }
  EXPECT_EQ(decode_image_file(dir + "/strip.heic").width, 260);
}

// The AVIF a fuzzer found (fuzz/seeds/avif-frame-larger-than-ispe.avif, 418 bytes): ispe 16 x 12,
// an AV1 frame far larger. libheif's own dav1d allocated that frame (353 MB, 4 GB in a fuzz run);
// clipdex's bounded AV1 decoder refuses it first. Decoded by `clipdex preprocess` in a child, whose
// own peak RSS wait4 reports (release ~26 MB, ASan ~140 MB; 381 / 560 MB before).
TEST(Heif, AnAv1FrameLargerThanItsContainerIsRefusedBeforeAllocation) {
  const std::string file = std::string(CLIPDEX_SOURCE_DIR) + "/fuzz/seeds/avif-frame-larger-than-ispe.avif";
  try {
    decode_image_file(file);
    ADD_FAILURE() << "the oversized AV1 frame decoded";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("larger than the pixel limit"), std::string::npos) << e.what();
  }
  const std::string out = test::scratch_dir("heif_frame") + "/x.safetensors";
  const pid_t pid = fork();
  if (pid == 0) {
    const int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, 2);
    execl(CLIPDEX_BINARY, "clipdex", "preprocess", file.c_str(), "--out", out.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  ASSERT_EQ(wait4(pid, &status, 0, &usage), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);  // an input error, said clearly
  EXPECT_LT(usage.ru_maxrss, 300 * 1024) << "peak RSS in KB";
}

TEST(Exif, DatesParseAsWallClockSeconds) {
  using detail::parse_exif_datetime;
  EXPECT_EQ(parse_exif_datetime("1970:01:01 00:00:00"), 0);
  EXPECT_EQ(parse_exif_datetime("2000:02:29 01:02:03"), 951786123);  // a leap day
  EXPECT_EQ(parse_exif_datetime("2024-03-10 10:00:00"), 1710064800);
  EXPECT_FALSE(parse_exif_datetime("0000:00:00 00:00:00"));  // what cameras write when unset
  EXPECT_FALSE(parse_exif_datetime("2024:13:01 00:00:00"));
  EXPECT_FALSE(parse_exif_datetime("2024:01-01 00:00:00"));
  EXPECT_FALSE(parse_exif_datetime(""));
}

TEST(Exif, PayloadTagsAreRead) {
  const auto tags = detail::read_exif(make_exif("2001:09:09 01:46:40", "Maker  ", "Model X"));
  EXPECT_EQ(tags.taken_at, 1000000000);
  EXPECT_EQ(tags.camera_make, "Maker");  // padding trimmed
  EXPECT_EQ(tags.camera_model, "Model X");
  EXPECT_EQ(tags.orientation, 1);
  const uint8_t junk[] = {'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0, 0xff, 0xff, 0xff, 0x7f};
  const auto none = detail::read_exif(junk);
  EXPECT_FALSE(none.taken_at);
  EXPECT_EQ(none.camera_make, "");
}

// PIL parity for TIFF: each fixture photo stored as an 8-bit TIFF in its own mode (RGB, RGBA,
// grey; LZW) preprocesses exactly as the reference preprocessed the original (PIL's goldens).
TEST(Tiff, FixturePhotosAsTiffMatchThePilReference) {
  const std::string dir = test::scratch_dir("tiff_parity");
  auto ref = SafeTensors::open(test::shared_path("fixtures/images/preprocessed.safetensors"));
  int checked = 0;
  for (const auto& f : nlohmann::json::parse(ref.metadata().at("files"))) {
    const std::string file = f.get<std::string>();
    const Image src = decode_image_file(test::shared_path("fixtures/images/" + file));
    if (src.mode != PixelMode::RGB && src.mode != PixelMode::RGBA && src.mode != PixelMode::L) continue;
    TiffSpec s;
    s.width = src.width, s.height = src.height, s.samples = src.channels();
    s.photometric = src.mode == PixelMode::L ? PHOTOMETRIC_MINISBLACK : PHOTOMETRIC_RGB;
    s.alpha = src.mode == PixelMode::RGBA;
    const std::string path = dir + "/" + file + ".tif";
    write_tiff(path, s, src.pixels);
    const Image im = decode_file(path);
    ASSERT_EQ(im.mode, src.mode) << file;
    PreprocessConfig cfg;
    cfg.size = 224;
    const auto mine = preprocess(im, cfg);
    const auto want = ref.get("pixels_" + file.substr(0, file.rfind('.')) + "@224").to_f32();
    ASSERT_EQ(mine.size(), want.size());
    float max_diff = 0;
    for (size_t i = 0; i < mine.size(); ++i) max_diff = std::max(max_diff, std::abs(mine[i] - want[i]));
    EXPECT_LE(max_diff, 1e-5f) << file;
    ++checked;
  }
  EXPECT_GE(checked, 5);
}
