// Decode + preprocess throughput (images/s) for a 12-megapixel and a 640x480 JPEG made from a
// fixture photograph, and the decode alone as the baseline each is compared with.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "image/decode.h"
#include "image/encode.h"
#include "image/preprocess.h"
#include "image/resample.h"

namespace {

using namespace clipdex::image;

const std::vector<uint8_t>& jpeg_of(int w, int h) {
  static std::vector<uint8_t> large, small;
  auto& slot = w > 1000 ? large : small;
  if (slot.empty()) {
    const Image photo = to_rgb(decode_image_file(std::string(CLIPDEX_SHARED_DIR) + "/fixtures/images/chelsea.png"));
    slot = encode_jpeg(resize(photo, w, h, Filter::Bicubic), 90);
  }
  return slot;
}

void BM_Decode(benchmark::State& state) {
  const auto& jpg = jpeg_of(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  for (auto _ : state) benchmark::DoNotOptimize(decode_image(jpg));
  state.SetItemsProcessed(state.iterations());
}

void BM_DecodePreprocess(benchmark::State& state) {
  const auto& jpg = jpeg_of(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  PreprocessConfig cfg;
  for (auto _ : state) benchmark::DoNotOptimize(preprocess(decode_image(jpg), cfg));
  state.SetItemsProcessed(state.iterations());
}

// What index and search do by default: the DCT decodes at the smallest scale that covers 224.
void BM_ReducedDecodePreprocess(benchmark::State& state) {
  const auto& jpg = jpeg_of(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  PreprocessConfig cfg;
  DecodeOptions reduced;
  reduced.reduce_to = cfg.size;
  for (auto _ : state) benchmark::DoNotOptimize(preprocess(decode_image(jpg, reduced), cfg));
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_Decode)->Args({4000, 3000})->Args({640, 480})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DecodePreprocess)->Args({4000, 3000})->Args({640, 480})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReducedDecodePreprocess)->Args({4000, 3000})->Args({640, 480})->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
