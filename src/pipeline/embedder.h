#pragma once
// A model with its tokenizer: texts and image files in, embeddings out. The image and text
// towers may come from two checkpoints (an M-CLIP text tower paired with the CLIP image tower
// it was trained against); their embedding widths must agree.
#include <memory>
#include <string>
#include <vector>

#include "model/clip_model.h"
#include "pipeline/image_loader.h"
#include "pipeline/text_input.h"

namespace clipdex::pipeline {

class Embedder {
 public:
  // model_path: a CLIP (both towers), or a text-only model (M-CLIP) to embed texts alone.
  // text_model_path: a separate text tower for model_path's images ("" for its own).
  // vocab "" means the tokenizer found for the text tower (InputError when there is none).
  static std::shared_ptr<Embedder> open(const std::string& model_path, const std::string& vocab = "",
                                        const model::LoadOptions& options = {},
                                        const std::string& text_model_path = "");
  Embedder(std::shared_ptr<const model::Model> image_model, std::shared_ptr<const model::Model> text_model,
           std::shared_ptr<const TextInput> text_input);

  // The image tower's model (preprocessing, logit scale); the text tower's may differ.
  const model::Model& model() const { return *image_model_; }
  const model::Model& text_model() const { return *text_model_; }
  const TextInput& text_input() const { return *text_input_; }
  bool paired() const { return image_model_ != text_model_; }
  // Identifies both towers: stored by libraries to refuse vectors from other models.
  std::string model_id() const;
  int dim() const { return text_model_->embed_dim(); }

  // [n, dim] text embeddings (one batch; texts over the context are cut as the reference does).
  std::vector<float> embed_texts(const std::vector<std::string>& texts, bool normalize) const;
  // [n, dim] image embeddings from preprocessed pixels [n, 3, S, S].
  std::vector<float> embed_pixels(const float* pixels, size_t n, bool normalize) const;

  // How image files are decoded for this model: by default large JPEGs decode at a reduced DCT
  // scale that still covers the model's input size; exact decodes every pixel (PIL parity).
  void set_exact_decode(bool exact) { exact_decode_ = exact; }
  bool exact_decode() const { return exact_decode_; }
  image::DecodeOptions decode_options(image::DecodeOptions base = {}) const;

 private:
  std::shared_ptr<const model::Model> image_model_, text_model_;
  std::shared_ptr<const TextInput> text_input_;
  bool exact_decode_ = false;
};

// Scales each row of [n, dim] to unit length (rows of zeros stay zero).
void normalize_rows(std::vector<float>& v, size_t dim);

}  // namespace clipdex::pipeline
