// Image decoding and preprocessing: exact parity with the reference pixels for every fixture
// image, other formats through lossless round trips, EXIF orientation, and broken files.
#include <webp/encode.h>
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/safetensors.h"
#include "image/decode.h"
#include "image/encode.h"
#include "image/preprocess.h"
#include "test_util.h"

using namespace clipdex;
using namespace clipdex::image;

namespace {

std::vector<uint8_t> file_bytes(const std::string& path) {
  const std::string s = read_file(path);
  return {s.begin(), s.end()};
}

std::string decode_error(const std::vector<uint8_t>& bytes, DecodeOptions opt = {}) {
  try {
    decode_image(bytes, opt, "test-file");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

Image gradient_rgb(int w, int h) {
  Image im;
  im.width = w;
  im.height = h;
  im.mode = PixelMode::RGB;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) im.pixels.push_back(static_cast<uint8_t>((x * 7 + y * 13 + c * 50) & 0xff));
  return im;
}

// A JPEG from the library's encoder with an EXIF APP1 segment (orientation tag) inserted after
// SOI; orientation 0 leaves the file as encoded.
std::vector<uint8_t> encode_jpeg_with_orientation(const Image& im, int orientation) {
  std::vector<uint8_t> jpg = encode_jpeg(im, 95);
  if (orientation == 0) return jpg;
  // "Exif\0\0" + little-endian TIFF header + IFD0 with one SHORT entry 0x0112.
  const std::vector<uint8_t> exif = {'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0,
                                     1,   0,   0,   0,   static_cast<uint8_t>(orientation), 0, 0, 0, 0, 0, 0, 0};
  const size_t len = exif.size() + 2;
  std::vector<uint8_t> app1 = {0xff, 0xe1, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len & 0xff)};
  app1.insert(app1.end(), exif.begin(), exif.end());
  jpg.insert(jpg.begin() + 2, app1.begin(), app1.end());
  return jpg;
}

std::vector<uint8_t> encode_bmp24(const Image& im) {
  const uint32_t stride = (im.width * 3 + 3) & ~3u;
  const uint32_t size = 54 + stride * im.height;
  std::vector<uint8_t> b(size, 0);
  auto put32 = [&](size_t at, uint32_t v) { for (int i = 0; i < 4; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i)); };
  b[0] = 'B', b[1] = 'M';
  put32(2, size), put32(10, 54), put32(14, 40), put32(18, im.width), put32(22, im.height);
  b[26] = 1, b[28] = 24;
  for (int y = 0; y < im.height; ++y)
    for (int x = 0; x < im.width; ++x)
      for (int c = 0; c < 3; ++c) b[54 + (im.height - 1 - y) * stride + x * 3 + c] = im.pixels[(y * im.width + x) * 3 + 2 - c];
  return b;
}

}  // namespace

TEST(Preprocess, EveryFixtureImageMatchesTheReferenceExactly) {
  auto ref = SafeTensors::open(test::shared_path("fixtures/images/preprocessed.safetensors"));
  const auto files = nlohmann::json::parse(ref.metadata().at("files"));
  int checked = 0;
  for (const auto& f : files) {
    const std::string file = f.get<std::string>();
    const std::string stem = file.substr(0, file.rfind('.'));
    const Image im = decode_image_file(test::shared_path("fixtures/images/" + file));
    for (int size : {224, 160}) {
      PreprocessConfig cfg;
      cfg.size = size;
      const auto mine = preprocess(im, cfg);
      const auto want = ref.get("pixels_" + stem + "@" + std::to_string(size)).to_f32();
      ASSERT_EQ(mine.size(), want.size());
      float max_diff = 0;
      for (size_t i = 0; i < mine.size(); ++i) max_diff = std::max(max_diff, std::abs(mine[i] - want[i]));
      EXPECT_LE(max_diff, 1e-5f) << file << " @" << size;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 16);
}

TEST(Decode, FixtureModesAreThePillowModes) {
  EXPECT_EQ(decode_image_file(test::shared_path("fixtures/images/camera.png")).mode, PixelMode::L);
  EXPECT_EQ(decode_image_file(test::shared_path("fixtures/images/logo.png")).mode, PixelMode::RGBA);
  EXPECT_EQ(decode_image_file(test::shared_path("fixtures/images/green_palette.png")).mode, PixelMode::Palette);
  const Image jpg = decode_image_file(test::shared_path("fixtures/images/rocket.jpg"));
  EXPECT_EQ(jpg.mode, PixelMode::RGB);
  EXPECT_EQ(jpg.width, 640);
  EXPECT_EQ(jpg.height, 427);
}

TEST(Decode, FormatIsDetectedByContentNotName) {
  const std::string dir = test::scratch_dir("by-content");
  const auto png = file_bytes(test::shared_path("fixtures/images/coffee.png"));
  std::ofstream(dir + "/coffee.jpg", std::ios::binary).write(reinterpret_cast<const char*>(png.data()), png.size());
  EXPECT_EQ(decode_image_file(dir + "/coffee.jpg").width, 600);
  EXPECT_EQ(detect_format(png), "png");
}

TEST(Decode, LosslessFormatsRoundTrip) {
  const Image im = gradient_rgb(37, 23);
  const Image bmp = decode_image(encode_bmp24(im));
  EXPECT_EQ(bmp.mode, PixelMode::RGB);
  EXPECT_EQ(bmp.pixels, im.pixels);

  uint8_t* out = nullptr;
  const size_t n = WebPEncodeLosslessRGB(im.pixels.data(), im.width, im.height, static_cast<int>(im.row_bytes()), &out);
  ASSERT_GT(n, 0u);
  const std::vector<uint8_t> webp(out, out + n);
  WebPFree(out);
  const Image w = decode_image(webp);
  EXPECT_EQ(w.mode, PixelMode::RGB);
  EXPECT_EQ(w.pixels, im.pixels);
}

TEST(Decode, ExifOrientationIsAppliedAndCanBeTurnedOff) {
  const Image im = gradient_rgb(40, 24);
  const Image upright = decode_image(encode_jpeg_with_orientation(im, 0));
  DecodeOptions off;
  off.apply_exif_orientation = false;
  for (int orientation = 1; orientation <= 8; ++orientation) {
    const auto jpg = encode_jpeg_with_orientation(im, orientation);
    const Image raw = decode_image(jpg, off);
    EXPECT_EQ(raw.pixels, upright.pixels);
    const Image turned = decode_image(jpg);
    const bool swapped = orientation >= 5;
    EXPECT_EQ(turned.width, swapped ? 24 : 40) << orientation;
    EXPECT_EQ(turned.height, swapped ? 40 : 24) << orientation;
    if (orientation == 6) {  // rotate 90 clockwise: the top-left source pixel lands top-right
      EXPECT_EQ(0, std::memcmp(&turned.pixels[(turned.width - 1) * 3], &raw.pixels[0], 3));
    }
    if (orientation == 3) {
      EXPECT_EQ(0, std::memcmp(&turned.pixels[turned.pixels.size() - 3], &raw.pixels[0], 3));
    }
  }
}

TEST(Decode, BrokenFilesGiveClearErrors) {
  const auto jpg = file_bytes(test::shared_path("fixtures/images/rocket.jpg"));
  const auto png = file_bytes(test::shared_path("fixtures/images/coffee.png"));
  EXPECT_NE(decode_error({}).find("empty"), std::string::npos);
  EXPECT_NE(decode_error(std::vector<uint8_t>(jpg.begin(), jpg.begin() + jpg.size() / 2)).find("truncated"),
            std::string::npos);
  EXPECT_NE(decode_error(std::vector<uint8_t>(png.begin(), png.begin() + png.size() / 2)).find("PNG"),
            std::string::npos);
  EXPECT_NE(decode_error(std::vector<uint8_t>(png.begin(), png.begin() + 40)).find("PNG"), std::string::npos);
  std::mt19937 rng(5);
  std::vector<uint8_t> noise = {0xff, 0xd8, 0xff};
  for (int i = 0; i < 5000; ++i) noise.push_back(static_cast<uint8_t>(rng()));
  EXPECT_NE(decode_error(noise).find("JPEG"), std::string::npos);
  EXPECT_NE(decode_error({'h', 'e', 'l', 'l', 'o'}).find("not a supported image"), std::string::npos);
  // A PNG header claiming 100000 x 100000 pixels is refused before any pixel is allocated.
  std::vector<uint8_t> huge(png.begin(), png.begin() + 33);
  for (int i = 0; i < 4; ++i) huge[16 + i] = huge[20 + i] = static_cast<uint8_t>(100000u >> (24 - 8 * i));
  const uLong crc = crc32(0, &huge[12], 17);  // chunk type + IHDR data
  for (int i = 0; i < 4; ++i) huge[29 + i] = static_cast<uint8_t>(crc >> (24 - 8 * i));
  const std::string e = decode_error(huge);
  EXPECT_NE(e.find("over the limit"), std::string::npos) << e;
  DecodeOptions small;
  small.max_pixels = 1000;
  EXPECT_NE(decode_error(jpg, small).find("over the limit"), std::string::npos);
  // Every prefix of a valid file fails cleanly (no crash, no hang).
  for (size_t cut = 0; cut < jpg.size(); cut += jpg.size() / 97 + 1)
    EXPECT_THROW(decode_image(std::vector<uint8_t>(jpg.begin(), jpg.begin() + cut)), InputError);
  for (size_t cut = 0; cut < png.size(); cut += png.size() / 97 + 1)
    EXPECT_THROW(decode_image(std::vector<uint8_t>(png.begin(), png.begin() + cut)), InputError);
}

TEST(Preprocess, ExtremeAspectRatiosAreRefused) {
  Image strip;
  strip.width = 100000;
  strip.height = 1;
  strip.mode = PixelMode::L;
  strip.pixels.assign(100000, 128);
  EXPECT_THROW(preprocess(strip, PreprocessConfig{}), InputError);
  strip.width = 300;
  strip.pixels.resize(300);
  EXPECT_EQ(preprocess(strip, PreprocessConfig{}).size(), 3u * 224 * 224);  // a thin but sane strip works
}

TEST(Decode, ErrorsNameTheFile) {
  const std::string dir = test::scratch_dir("named");
  std::ofstream(dir + "/zero.jpg").close();
  try {
    decode_image_file(dir + "/zero.jpg");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("zero.jpg"), std::string::npos);
  }
  EXPECT_THROW(decode_image_file(dir + "/missing.png"), InputError);  // the user named a file that is not there
}

TEST(PreprocessCli, WritesPixelsTensor) {
  const std::string out = test::scratch_dir("pp-cli") + "/p.safetensors";
  auto r = test::run_cli("preprocess " + test::shared_path("fixtures/images/rocket.jpg") + " --size 160 --out " + out);
  ASSERT_EQ(r.exit_code, 0);
  auto st = SafeTensors::open(out);
  EXPECT_EQ(st.get("pixels").shape, (std::vector<int64_t>{3, 160, 160}));
  auto bad = test::run_cli("preprocess /nonexistent.png --out " + out);
  EXPECT_NE(bad.exit_code, 0);
}

// Reduced-scale JPEG decode picks PIL's draft scale (the largest of 8, 4, 2 that keeps both sides
// at least the target), reports the stored size, and leaves images too small to reduce untouched.
TEST(Decode, ReducedJpegDecodeUsesPilsDraftScale) {
  struct Case {
    int w, h, want_w, want_h;
  };
  for (const Case c : {Case{4000, 3000, 500, 375}, Case{1000, 900, 250, 225}, Case{640, 480, 320, 240},
                       Case{447, 600, 447, 600}, Case{300, 200, 300, 200}}) {
    const auto jpg = encode_jpeg(gradient_rgb(c.w, c.h), 90);
    DecodeOptions reduced;
    reduced.reduce_to = 224;
    SourceInfo size;
    const Image small = decode_image(jpg, reduced, "test", &size);
    EXPECT_EQ(small.width, c.want_w) << c.w << "x" << c.h;
    EXPECT_EQ(small.height, c.want_h) << c.w << "x" << c.h;
    EXPECT_EQ(size.width, c.w);
    EXPECT_EQ(size.height, c.h);
    if (c.want_w == c.w) {
      EXPECT_EQ(small.pixels, decode_image(jpg).pixels);  // nothing to reduce: bit-identical
    }
  }
  // The stored size follows the EXIF orientation; the pixels turn with it.
  const auto turned = encode_jpeg_with_orientation(gradient_rgb(1000, 600), 6);
  DecodeOptions reduced;
  reduced.reduce_to = 224;
  SourceInfo size;
  const Image im = decode_image(turned, reduced, "test", &size);
  EXPECT_EQ(size.width, 600);
  EXPECT_EQ(size.height, 1000);
  EXPECT_EQ(im.width, 300);
  EXPECT_EQ(im.height, 500);
}

// On the repository's sample photographs (real, 512x512 JPEG), what the model sees after a
// half-scale DCT decode stays close to the exact path's pixels.
TEST(Preprocess, ReducedDecodeStaysCloseToExactOnPhotographs) {
  const auto samples = std::filesystem::path(CLIPDEX_SOURCE_DIR) / "samples";
  int checked = 0;
  PreprocessConfig cfg;
  DecodeOptions reduced;
  reduced.reduce_to = cfg.size;
  for (const auto& entry : std::filesystem::directory_iterator(samples)) {
    if (entry.path().extension() != ".jpg") continue;
    const auto exact = preprocess(decode_image_file(entry.path().string()), cfg);
    const auto fast = preprocess(decode_image_file(entry.path().string(), reduced), cfg);
    ASSERT_EQ(exact.size(), fast.size());
    double num = 0, den = 0;
    for (size_t i = 0; i < exact.size(); ++i) {
      num += (double(exact[i]) - fast[i]) * (double(exact[i]) - fast[i]);
      den += double(exact[i]) * exact[i];
    }
    EXPECT_LT(std::sqrt(num / den), 0.1) << entry.path();  // normalised pixels, relative RMS
    ++checked;
  }
  EXPECT_GE(checked, 10);
}
