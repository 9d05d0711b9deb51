#pragma once
// Texts to a text tower's input ids, as its reference prepares them:
//   CLIP:               cleaned and lower-cased, [49406] BPE [49407], zero-padded to 77;
//   open_clip XLM-R:    cleaned without lower-casing, <s> pieces </s> cut to 77, <pad>-padded;
//   M-CLIP:             the raw text, <s> pieces </s>, padded to the batch's longest.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/clip_model.h"
#include "text/tokenizer.h"
#include "text/xlmr_tokenizer.h"

namespace clipdex::pipeline {

class TextInput {
 public:
  // vocab "" means: found for the model (beside it, $CLIPDEX_VOCAB, the cache; see find_vocab),
  // or for XLM-R towers the model's folder. Throws InputError when there is none.
  static std::shared_ptr<const TextInput> for_model(const model::Model& model, const std::string& model_path,
                                                    const std::string& vocab);
  // The same from a model's config alone (for code that reads the weights itself).
  static std::shared_ptr<const TextInput> for_config(const model::ModelConfig& config, const std::string& model_path,
                                                     const std::string& vocab);

  // [n, context] input ids in one buffer; sets `context`.
  std::vector<int32_t> batch(const std::vector<std::string>& texts, int64_t& context) const;
  // Throws InputError for text the tokenizer refuses (invalid UTF-8, over-long).
  void check(const std::string& text) const;
  const std::string& source() const { return source_; }  // the tokenizer file or folder

 private:
  std::vector<int32_t> row(const std::string& text) const;

  std::shared_ptr<const text::Tokenizer> clip_;
  std::shared_ptr<const text::XlmrTokenizer> xlmr_;
  model::XlmrConfig xlmr_cfg_;
  int64_t context_ = 77;
  bool pad_to_longest_ = false;
  std::string source_;
};

}  // namespace clipdex::pipeline
