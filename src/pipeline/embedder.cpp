#include "pipeline/embedder.h"

#include <cmath>

#include "core/error.h"

namespace clipdex::pipeline {

std::shared_ptr<Embedder> Embedder::open(const std::string& model_path, const std::string& vocab,
                                         const model::LoadOptions& options) {
  const std::string vocab_path = vocab.empty() ? model::find_vocab(model_path) : vocab;
  if (vocab_path.empty()) throw InputError(model::missing_vocab_advice(model_path));
  auto model = std::shared_ptr<const model::Model>(model::Model::load(model_path, options));
  auto tok = std::make_shared<const text::Tokenizer>(text::BpeVocab::load(vocab_path));
  return std::make_shared<Embedder>(std::move(model), std::move(tok));
}

Embedder::Embedder(std::shared_ptr<const model::Model> model, std::shared_ptr<const text::Tokenizer> tokenizer)
    : model_(std::move(model)), tokenizer_(std::move(tokenizer)) {}

std::vector<float> Embedder::embed_texts(const std::vector<std::string>& texts, bool normalize) const {
  const size_t ctx = static_cast<size_t>(model_->context_length());
  std::vector<int32_t> ids;
  ids.reserve(texts.size() * ctx);
  for (const auto& t : texts) {
    const auto row = tokenizer_->tokenize(t, ctx);
    ids.insert(ids.end(), row.begin(), row.end());
  }
  auto out = model_->encode_texts(ids.data(), static_cast<int64_t>(texts.size()), static_cast<int64_t>(ctx));
  if (normalize) normalize_rows(out, static_cast<size_t>(dim()));
  return out;
}

std::vector<float> Embedder::embed_pixels(const float* pixels, size_t n, bool normalize) const {
  auto out = model_->encode_images(pixels, static_cast<int64_t>(n));
  if (normalize) normalize_rows(out, static_cast<size_t>(dim()));
  return out;
}

void normalize_rows(std::vector<float>& v, size_t dim) {
  for (size_t r = 0; r + dim <= v.size(); r += dim) {
    double n = 0;
    for (size_t i = 0; i < dim; ++i) n += static_cast<double>(v[r + i]) * v[r + i];
    if (n == 0) continue;
    const float inv = static_cast<float>(1.0 / std::sqrt(n));
    for (size_t i = 0; i < dim; ++i) v[r + i] *= inv;
  }
}

}  // namespace clipdex::pipeline
