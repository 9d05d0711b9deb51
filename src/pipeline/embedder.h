#pragma once
// A model with its tokenizer: texts and image files in, embeddings out.
#include <memory>
#include <string>
#include <vector>

#include "model/clip_model.h"
#include "pipeline/image_loader.h"
#include "text/tokenizer.h"

namespace clipdex::pipeline {

class Embedder {
 public:
  // vocab "" means the vocabulary found beside the model (InputError when there is none).
  static std::shared_ptr<Embedder> open(const std::string& model_path, const std::string& vocab = "",
                                        const model::LoadOptions& options = {});
  Embedder(std::shared_ptr<const model::Model> model, std::shared_ptr<const text::Tokenizer> tokenizer);

  const model::Model& model() const { return *model_; }
  const text::Tokenizer& tokenizer() const { return *tokenizer_; }
  int dim() const { return model_->embed_dim(); }

  // [n, dim] text embeddings (one batch; texts over the context are cut as the reference does).
  std::vector<float> embed_texts(const std::vector<std::string>& texts, bool normalize) const;
  // [n, dim] image embeddings from preprocessed pixels [n, 3, S, S].
  std::vector<float> embed_pixels(const float* pixels, size_t n, bool normalize) const;

 private:
  std::shared_ptr<const model::Model> model_;
  std::shared_ptr<const text::Tokenizer> tokenizer_;
};

// Scales each row of [n, dim] to unit length (rows of zeros stay zero).
void normalize_rows(std::vector<float>& v, size_t dim);

}  // namespace clipdex::pipeline
