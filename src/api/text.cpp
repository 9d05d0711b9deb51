// clipdex::Tokenizer: CLIP's BPE or XLM-R's sentencepiece, chosen by what the vocab path holds.
#include "clipdex/text.h"

#include "text/tokenizer.h"
#include "text/xlmr_tokenizer.h"

namespace clipdex {

struct Tokenizer::Impl {
  std::unique_ptr<const text::Tokenizer> bpe;        // one of these
  std::unique_ptr<const text::XlmrTokenizer> xlmr;
};

Tokenizer Tokenizer::open(const std::string& vocab) {
  auto impl = std::make_shared<Impl>();
  if (text::XlmrTokenizer::present(vocab))
    impl->xlmr = std::make_unique<const text::XlmrTokenizer>(text::XlmrTokenizer::load(vocab));
  else
    impl->bpe = std::make_unique<const text::Tokenizer>(text::BpeVocab::load(vocab));
  return Tokenizer(std::move(impl));
}

std::vector<int32_t> Tokenizer::encode(const std::string& text) const {
  return impl_->xlmr ? impl_->xlmr->encode(text) : impl_->bpe->encode(text);
}

std::vector<int32_t> Tokenizer::tokenize(const std::string& text, size_t context) const {
  return impl_->xlmr ? impl_->xlmr->tokenize(text, context) : impl_->bpe->tokenize(text, context);
}

}  // namespace clipdex
