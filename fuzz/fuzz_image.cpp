// Every decoder, reached through content detection, either decodes or throws InputError.
#include <cstdint>

#include "core/error.h"
#include "image/decode.h"
#include "image/preprocess.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  clipdex::image::DecodeOptions opt;
  opt.max_pixels = 4'000'000;
  try {
    const auto im = clipdex::image::decode_image({data, size}, opt);
    clipdex::image::PreprocessConfig cfg;
    cfg.size = 32;
    (void)clipdex::image::preprocess(im, cfg);
  } catch (const clipdex::InputError&) {
  }
  return 0;
}
