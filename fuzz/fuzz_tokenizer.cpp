// The tokenizer accepts any byte string: model input ids, or InputError for invalid UTF-8.
#include <cstdint>
#include <string>

#include "core/error.h"
#include "text/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const clipdex::text::Tokenizer tok(
      clipdex::text::BpeVocab::load(std::string(CLIPDEX_SHARED_DIR) + "/clip/bpe_simple_vocab_16e6.txt.gz"));
  try {
    const auto ids = tok.tokenize(std::string(reinterpret_cast<const char*>(data), size));
    if (ids.size() != 77) __builtin_trap();
  } catch (const clipdex::InputError&) {
  }
  return 0;
}
