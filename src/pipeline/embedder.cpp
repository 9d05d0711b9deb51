#include "pipeline/embedder.h"

#include <cmath>

#include "core/error.h"
#include "core/heap.h"

namespace clipdex::pipeline {

std::shared_ptr<Embedder> Embedder::open(const std::string& model_path, const std::string& vocab,
                                         const model::LoadOptions& options, const std::string& text_model_path) {
  auto image = std::shared_ptr<const model::Model>(model::Model::load(model_path, options));
  auto text = image;
  if (!text_model_path.empty()) {
    model::LoadOptions text_options;
    text_options.precision = options.precision;
    text_options.device = options.device;
    text = std::shared_ptr<const model::Model>(model::Model::load(text_model_path, text_options));
    if (!image->has_image_tower())
      throw_input("--model {} has no image tower to pair the text model with", model_path);
    if (text->embed_dim() != image->embed_dim())
      throw_input("the text model {} embeds into {} dimensions but the image model {} into {}: they are not a pair",
                  text_model_path, text->embed_dim(), model_path, image->embed_dim());
  }
  auto input = TextInput::for_model(*text, text_model_path.empty() ? model_path : text_model_path, vocab);
  return_free_heap_memory();  // the tokenizer's tables were built through transients too
  return std::make_shared<Embedder>(std::move(image), std::move(text), std::move(input));
}

Embedder::Embedder(std::shared_ptr<const model::Model> image_model, std::shared_ptr<const model::Model> text_model,
                   std::shared_ptr<const TextInput> text_input)
    : image_model_(std::move(image_model)), text_model_(std::move(text_model)), text_input_(std::move(text_input)) {}

std::string Embedder::model_id() const {
  return paired() ? image_model_->model_id() + "+text:" + text_model_->model_id() : image_model_->model_id();
}

std::vector<float> Embedder::embed_texts(const std::vector<std::string>& texts, bool normalize) const {
  int64_t context = 0;
  const auto ids = text_input_->batch(texts, context);
  auto out = text_model_->encode_texts(ids.data(), static_cast<int64_t>(texts.size()), context);
  if (normalize) normalize_rows(out, static_cast<size_t>(dim()));
  return out;
}

std::vector<float> Embedder::embed_pixels(const float* pixels, size_t n, bool normalize) const {
  auto out = image_model_->encode_images(pixels, static_cast<int64_t>(n));
  if (normalize) normalize_rows(out, static_cast<size_t>(dim()));
  return out;
}

image::DecodeOptions Embedder::decode_options(image::DecodeOptions base) const {
  base.reduce_to = exact_decode_ ? 0 : image_model_->preprocess_config().size;
  return base;
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
