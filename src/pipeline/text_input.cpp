#include "pipeline/text_input.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "text/text_cleaner.h"
#include "text/utf8.h"

namespace clipdex::pipeline {

std::shared_ptr<const TextInput> TextInput::for_model(const model::Model& model, const std::string& model_path,
                                                      const std::string& vocab) {
  return for_config(model.config(), model_path, vocab);
}

std::shared_ptr<const TextInput> TextInput::for_config(const model::ModelConfig& cfg, const std::string& model_path,
                                                       const std::string& vocab) {
  auto in = std::make_shared<TextInput>();
  in->context_ = cfg.text.context_length;
  if (cfg.text_kind == model::TextKind::Xlmr) {
    namespace fs = std::filesystem;
    const std::string where =
        !vocab.empty() ? vocab : fs::is_directory(model_path) ? model_path : fs::path(model_path).parent_path().string();
    if (!text::XlmrTokenizer::present(where))
      throw_input("no XLM-R tokenizer (sentencepiece.bpe.model or tokenizer.json) in '{}'; open_clip's xlm-roberta "
                  "models use the base model's: clipdex model fetch FacebookAI/xlm-roberta-base --tokenizer-only, then "
                  "pass --vocab with the folder it prints",
                  where);
    in->xlmr_ = std::make_shared<const text::XlmrTokenizer>(text::XlmrTokenizer::load(where));
    in->xlmr_cfg_ = cfg.xlmr;
    in->pad_to_longest_ = !cfg.has_image;  // M-CLIP pads the batch to its longest text
    in->source_ = in->xlmr_->source();
    return in;
  }
  in->source_ = vocab.empty() ? model::find_vocab(model_path) : vocab;
  if (in->source_.empty()) throw InputError(model::missing_vocab_advice(model_path));
  in->clip_ = std::make_shared<const text::Tokenizer>(text::BpeVocab::load(in->source_));
  return in;
}

std::vector<int32_t> TextInput::row(const std::string& text) const {
  if (clip_) return clip_->tokenize(text, static_cast<size_t>(context_));
  if (!xlmr_cfg_.clean_text) {
    auto ids = xlmr_->encode(text);
    if (static_cast<int64_t>(ids.size()) > context_) {  // longer than the model's positions
      ids.resize(static_cast<size_t>(context_));
      ids.back() = text::XlmrTokenizer::kEos;
    }
    return ids;
  }
  return xlmr_->tokenize(text::u32_to_utf8(text::clean_text(text, /*lower=*/false)), static_cast<size_t>(context_));
}

std::vector<int32_t> TextInput::batch(const std::vector<std::string>& texts, int64_t& context) const {
  std::vector<std::vector<int32_t>> rows;
  rows.reserve(texts.size());
  size_t longest = 1;
  for (const auto& t : texts) {
    rows.push_back(row(t));
    longest = std::max(longest, rows.back().size());
  }
  context = pad_to_longest_ ? static_cast<int64_t>(longest) : context_;
  std::vector<int32_t> ids;
  ids.reserve(texts.size() * static_cast<size_t>(context));
  for (auto& r : rows) {
    r.resize(static_cast<size_t>(context), clip_ ? 0 : text::XlmrTokenizer::kPad);
    ids.insert(ids.end(), r.begin(), r.end());
  }
  return ids;
}

void TextInput::check(const std::string& text) const { row(text); }

}  // namespace clipdex::pipeline
