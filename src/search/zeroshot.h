#pragma once
// Zero-shot classification with prompt ensembles (CLIP paper): each class embedding is the
// mean of its normalised prompt embeddings (every template x every synonym), renormalised.
// Class embeddings are cached on disk per model and prompt set.
#include <string>
#include <utility>
#include <vector>

#include "pipeline/embedder.h"

namespace clipdex::search {

struct PromptSet {
  std::vector<std::vector<std::string>> classes;  // synonyms per class; the first names it
  std::vector<std::string> templates;             // "a photo of a {}."
};

// A dataset from a zeroshot_prompts.json-style file: {name: {"classes": [...], "templates": [...]}}.
PromptSet load_prompt_set(const std::string& file, const std::string& dataset);
// A prompt set by name from `file`, or from $CLIPDEX_PROMPTS_FILE when file is empty.
PromptSet load_named_prompt_set(const std::string& dataset, const std::string& file);
// Comma-separated labels, with templates from a file (same format, or a JSON list, or one per
// line), or the single template "a photo of a {}." when none is given.
PromptSet labels_prompt_set(const std::string& labels, const std::string& templates_file = "");

struct Prediction {
  size_t class_index = 0;
  std::string label;
  float probability = 0;  // softmax over classes of logit_scale * cosine
  float score = 0;        // cosine similarity
};

class ZeroShotClassifier {
 public:
  // cache_dir "" disables the on-disk cache.
  ZeroShotClassifier(const pipeline::Embedder& embedder, PromptSet prompts, const std::string& cache_dir);

  // image: unit-length image embedding. Returns the top classes, best first.
  std::vector<Prediction> classify(std::span<const float> image, size_t top) const;
  const std::vector<float>& class_embeddings() const { return classes_; }
  size_t num_classes() const { return prompts_.classes.size(); }

 private:
  std::vector<float> compute() const;
  const pipeline::Embedder& embedder_;
  PromptSet prompts_;
  std::vector<float> classes_;  // [C, D]
};

}  // namespace clipdex::search
