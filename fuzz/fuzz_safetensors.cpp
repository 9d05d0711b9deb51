// Any byte string either parses as safetensors with every view in bounds, or throws InputError.
#include <cstdint>
#include <cstring>

#include "core/error.h"
#include "core/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto st = clipdex::SafeTensors::parse({data, size});
    volatile uint8_t sink = 0;
    for (const auto& [name, t] : st.tensors()) {
      if (!t.bytes.empty()) sink ^= t.bytes.front() ^ t.bytes.back();
      if (t.numel() < 4096) (void)t.to_f32();
    }
  } catch (const clipdex::InputError&) {
  }
  return 0;
}
