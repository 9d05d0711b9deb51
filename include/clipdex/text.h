#pragma once
// The tokenizers of CLIP's text towers, for checking what a model reads (`clipdex tokenize`).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace clipdex {

class Tokenizer {
 public:
  // CLIP's BPE (bpe_simple_vocab_16e6.txt.gz, or a folder with vocab.json + merges.txt) or
  // XLM-R's (a folder with sentencepiece.bpe.model / tokenizer.json).
  static Tokenizer open(const std::string& vocab);

  // Token ids: CLIP's bare, XLM-R's with <s> ... </s>. InputError on invalid UTF-8.
  std::vector<int32_t> encode(const std::string& text) const;
  // The model input: start and end tokens, cut and padded to `context` ids (CLIP pads with 0,
  // XLM-R with <pad>).
  std::vector<int32_t> tokenize(const std::string& text, size_t context) const;

 private:
  struct Impl;
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace clipdex
