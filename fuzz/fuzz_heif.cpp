// The HEIC/HEIF/AVIF decoder alone (no content detection in front), so mutations reach its parser.
#include <cstdint>

#include "core/error.h"
#include "image/decoders.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  clipdex::image::DecodeOptions opt;
  opt.max_pixels = 4'000'000;
  try {
    (void)clipdex::image::detail::decode_heif({data, size}, opt, "fuzz");
  } catch (const clipdex::InputError&) {
  }
  return 0;
}
