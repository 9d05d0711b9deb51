#pragma once
// The XLM-RoBERTa tokenizer (multilingual text towers: M-CLIP, open_clip xlm-roberta-*), from the
// files real repositories ship: `sentencepiece.bpe.model` (read by Debian's libsentencepiece), or
// else `tokenizer.json`'s Unigram model (its pieces, scores and precompiled normaliser map are
// turned into the same SentencePiece model in memory, so both give identical ids).
// Ids follow fairseq's layout: <s>=0, <pad>=1, </s>=2, <unk>=3, SentencePiece piece i >= 3 -> i+1,
// <mask> = pieces + 1. Special tokens written in the text are split out first and mapped to
// their ids (<mask> also takes the space before it); each stretch between them is segmented on
// its own. Thread-safe after load.
//
//   auto tok = clipdex::text::XlmrTokenizer::load("path/to/model-folder");
//   std::vector<int32_t> ids = tok.encode("una bicicleta roja");   // <s> ... </s>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace clipdex::text {

class XlmrTokenizer {
 public:
  static constexpr int32_t kBos = 0, kPad = 1, kEos = 2, kUnk = 3;

  // A folder holding sentencepiece.bpe.model or tokenizer.json, or either file. Throws
  // InputError naming the file for anything else.
  static XlmrTokenizer load(const std::string& path);
  // Whether `path` looks like an XLM-R tokenizer (so callers can tell it from CLIP's BPE).
  static bool present(const std::string& path);

  XlmrTokenizer(XlmrTokenizer&&) noexcept;
  XlmrTokenizer& operator=(XlmrTokenizer&&) noexcept;
  ~XlmrTokenizer();

  // [<s>] + ids + [</s>], no padding, no truncation. Throws InputError on invalid UTF-8 or
  // text over 1 MiB.
  std::vector<int32_t> encode(std::string_view text) const;
  // Model input: encode() cut to `context` (keeping </s> last), padded with <pad> (1).
  std::vector<int32_t> tokenize(std::string_view text, size_t context) const;

  int32_t mask_id() const { return mask_id_; }
  size_t vocab_size() const { return static_cast<size_t>(mask_id_) + 1; }
  const std::string& source() const { return source_; }  // the file it was read from

 private:
  XlmrTokenizer();
  std::vector<int32_t> segment(std::string_view stretch) const;

  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
  int32_t mask_id_ = 0;
  std::string source_;
};

}  // namespace clipdex::text
