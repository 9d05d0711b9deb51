#pragma once
// The CLIP byte-level BPE vocabulary, loaded from either published form:
//  - OpenAI/open_clip's gzip merges file (bpe_simple_vocab_16e6.txt.gz): ids are derived as the
//    reference does (256 byte symbols, the same with "</w>", one per merge, then the two specials);
//  - Hugging Face's vocab.json + merges.txt pair, ids read from vocab.json.
//
// Kept in id form: the token strings back to back, and each merge as (left id, right id) ->
// (rank, merged id) in one sorted array. Held as strings in hash maps (a string per token, a
// "left right" string per merge) it was 9 MB of every process that embeds text; this is 1.4 MB,
// and merging compares integers instead of hashing strings.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace clipdex::text {

struct BpeVocab {
  struct Merge {
    int32_t left = 0, right = 0;  // the adjacent pair's ids
    int32_t rank = 0;             // lower merges first
    int32_t merged = 0;
    bool same_pair(const Merge& o) const { return left == o.left && right == o.right; }
    bool pair_before(const Merge& o) const { return left != o.left ? left < o.left : right < o.right; }
  };

  std::string text;                       // every token's UTF-8, back to back
  std::vector<uint32_t> offsets{0};       // token i is text[offsets[i], offsets[i + 1])
  std::vector<Merge> merges;              // sorted by pair, one per pair
  std::array<int32_t, 256> byte_id{};     // each byte's symbol inside a word
  std::array<int32_t, 256> byte_end_id{}; // the same ending a word ("</w>")
  int32_t sot_id = -1;
  int32_t eot_id = -1;

  size_t size() const { return offsets.size() - 1; }
  std::string_view token(int32_t id) const {
    return std::string_view(text).substr(offsets[static_cast<size_t>(id)],
                                         offsets[static_cast<size_t>(id) + 1] - offsets[static_cast<size_t>(id)]);
  }
  // The merge of this adjacent pair, or null when the pair never merges.
  const Merge* find_merge(int32_t left, int32_t right) const;

  // path: the .gz merges file, a .txt merges file, or a folder holding vocab.json + merges.txt
  // or bpe_simple_vocab_16e6.txt.gz. Throws IoError / InputError naming the file.
  static BpeVocab load(const std::string& path);
};

// The reference's bytes_to_unicode(): byte -> printable code point used inside BPE symbols.
const std::array<char32_t, 256>& byte_to_unicode();

}  // namespace clipdex::text
