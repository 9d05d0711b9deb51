#pragma once
// CLIP's tokenizer: reference text cleaning, the reference word split, byte-level BPE.
// Thread-safe: one Tokenizer serves every thread (the BPE word cache is locked).
//
//   auto tok = clipdex::text::Tokenizer::load("bpe_simple_vocab_16e6.txt.gz");
//   std::vector<int32_t> ids = tok.encode("a photo of a cat");       // BPE ids only
//   std::vector<int32_t> input = tok.tokenize("a photo of a cat");   // 77 model input ids
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "text/bpe_vocab.h"

namespace clipdex::text {

class Tokenizer {
 public:
  // Texts longer than this (in bytes) are rejected rather than tokenized.
  static constexpr size_t kMaxTextBytes = 1u << 20;

  static Tokenizer load(const std::string& path);  // see BpeVocab::load
  explicit Tokenizer(BpeVocab vocab);

  // BPE ids of text without start/end tokens (the reference's encode()). Throws InputError on
  // invalid UTF-8 or text over kMaxTextBytes. max_ids > 0 stops after that many ids.
  std::vector<int32_t> encode(std::string_view text, size_t max_ids = 0) const;

  // Model input: [start] + ids + [end], zero-padded to context_length. Over-long text is cut
  // to context_length with the last id set to end when truncate is true, else InputError.
  std::vector<int32_t> tokenize(std::string_view text, size_t context_length = 77, bool truncate = true) const;

  std::string decode(const std::vector<int32_t>& ids) const;

  int32_t sot_id() const { return vocab_.sot_id; }
  int32_t eot_id() const { return vocab_.eot_id; }
  size_t vocab_size() const { return vocab_.size(); }

 private:
  // BPE ids of one word (its UTF-8 bytes), through the cache.
  std::vector<int32_t> bpe_word(const std::string& word) const;
  std::vector<int32_t> bpe_uncached(const std::string& word) const;

  BpeVocab vocab_;
  mutable std::mutex cache_mu_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

}  // namespace clipdex::text
