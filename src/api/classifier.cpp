// clipdex::PromptSet and Classifier over search::ZeroShotClassifier.
#include "clipdex/clipdex.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "search/zeroshot.h"

namespace clipdex {
namespace {

PromptSet public_set(search::PromptSet&& s) { return {std::move(s.classes), std::move(s.templates)}; }

}  // namespace

PromptSet PromptSet::named(const std::string& name, const std::string& file) {
  return public_set(search::load_named_prompt_set(name, file));
}

PromptSet PromptSet::labels(const std::string& comma_separated, const std::string& templates_file) {
  return public_set(search::labels_prompt_set(comma_separated, templates_file));
}

struct Classifier::Impl {
  search::ZeroShotClassifier classifier;
};

Classifier::Classifier(const Model& model, PromptSet prompts, const std::string& cache_dir) : model_(model) {
  const ThreadPool::Limit limit(model_.options().threads);
  if (prompts.classes.size() < 2) throw InputError("classify needs at least two classes");
  if (prompts.templates.empty()) prompts.templates = {"a photo of a {}."};
  search::PromptSet set{std::move(prompts.classes), std::move(prompts.templates)};
  impl_ = std::make_shared<const Impl>(Impl{search::ZeroShotClassifier(*model_.internals(), std::move(set), cache_dir)});
}

std::vector<Prediction> Classifier::classify(std::span<const float> image, size_t top) const {
  if (image.size() != static_cast<size_t>(model_.dim()))
    throw_input("an image embedding of {} values for a model of width {}", image.size(), model_.dim());
  std::vector<Prediction> out;
  for (const auto& p : impl_->classifier.classify(image, top)) out.push_back({p.label, p.probability, p.score});
  return out;
}

std::vector<Prediction> Classifier::classify_file(const std::string& image_file, size_t top) const {
  return classify(model_.embed_image_files({image_file}, /*normalize=*/true), top);
}

size_t Classifier::classes() const { return impl_->classifier.num_classes(); }

std::vector<Prediction> classify(const Model& model, const std::string& image_file, const std::vector<std::string>& labels,
                                 const std::vector<std::string>& templates, size_t top) {
  if (labels.size() < 2) throw InputError("classify needs at least two labels");
  PromptSet set;
  for (const auto& l : labels) set.classes.push_back({l});
  set.templates = templates;
  return Classifier(model, std::move(set)).classify_file(image_file, top);
}

}  // namespace clipdex
