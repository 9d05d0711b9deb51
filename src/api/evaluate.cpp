// `clipdex eval` as library calls, over the eval component.
#include "clipdex/evaluate.h"

#include "core/thread_pool.h"
#include "eval/evaluate.h"

namespace clipdex {

RetrievalEvaluation evaluate_retrieval(const Model& model, const std::string& captions_file, const std::string& images_dir,
                                       const std::string& split, const std::vector<int>& ks, size_t threads) {
  const ThreadPool::Limit limit(model.options().threads);
  const auto data = eval::load_caption_set(captions_file, images_dir, split);
  const auto r = eval::evaluate_retrieval(*model.internals(), data, ks, threads);
  const auto& m = r.metrics;
  RetrievalEvaluation out;
  out.t2i_recall = m.t2i_recall;
  out.i2t_recall = m.i2t_recall;
  out.t2i_map = m.t2i_map;
  out.i2t_map = m.i2t_map;
  out.t2i_mean_rank = m.t2i_mean_rank;
  out.i2t_mean_rank = m.i2t_mean_rank;
  out.t2i_median_rank = m.t2i_median_rank;
  out.i2t_median_rank = m.i2t_median_rank;
  out.captions = m.captions;
  out.images = m.images;
  out.images_per_second = r.images_per_second;
  out.texts_per_second = r.texts_per_second;
  return out;
}

ZeroShotEvaluation evaluate_zeroshot(const Model& model, const std::string& class_folders, const PromptSet& prompts,
                                     const std::string& cache_dir, const std::vector<int>& ks, size_t threads) {
  const ThreadPool::Limit limit(model.options().threads);
  const auto data = eval::load_class_folders(class_folders);
  const auto r = eval::evaluate_zeroshot(*model.internals(), data, {prompts.classes, prompts.templates}, cache_dir, ks, threads);
  return {r.accuracy, r.images, r.classes, r.images_per_second};
}

}  // namespace clipdex
