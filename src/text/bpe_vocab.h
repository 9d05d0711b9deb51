#pragma once
// The CLIP byte-level BPE vocabulary, loaded from either published form:
//  - OpenAI/open_clip's gzip merges file (bpe_simple_vocab_16e6.txt.gz): ids are derived as the
//    reference does (256 byte symbols, the same with "</w>", one per merge, then the two specials);
//  - Hugging Face's vocab.json + merges.txt pair, ids read from vocab.json.
#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace clipdex::text {

struct BpeVocab {
  std::unordered_map<std::string, int32_t> token_to_id;   // UTF-8 symbol string -> id
  std::vector<std::string> id_to_token;
  std::unordered_map<std::string, int32_t> merge_rank;    // "left right" -> rank (lower merges first)
  int32_t sot_id = -1;
  int32_t eot_id = -1;

  // path: the .gz merges file, a .txt merges file, or a folder holding vocab.json + merges.txt
  // or bpe_simple_vocab_16e6.txt.gz. Throws IoError / InputError naming the file.
  static BpeVocab load(const std::string& path);
};

// The reference's bytes_to_unicode(): byte -> printable code point used inside BPE symbols.
const std::array<char32_t, 256>& byte_to_unicode();

}  // namespace clipdex::text
