#pragma once
// The standard zero-shot protocols behind `clipdex eval` (docs/EVALUATION.md).
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "clipdex/clipdex.h"

namespace clipdex {

// Text <-> image retrieval over a caption set: a Karpathy split .json, a .jsonl of
// {image, caption} or a .csv image,caption; image paths relative to `images_dir`.
struct RetrievalEvaluation {
  std::map<int, double> t2i_recall, i2t_recall;  // K -> fraction in [0, 1]
  std::map<int, double> t2i_map, i2t_map;        // K -> mAP@K
  double t2i_mean_rank = 0, i2t_mean_rank = 0, t2i_median_rank = 0, i2t_median_rank = 0;
  size_t captions = 0, images = 0;
  double images_per_second = 0, texts_per_second = 0;
};
RetrievalEvaluation evaluate_retrieval(const Model& model, const std::string& captions_file, const std::string& images_dir,
                                       const std::string& split, const std::vector<int>& ks, size_t threads = 0);

// Top-K accuracy on a folder with one sub-folder of images per class ('_' read as a space),
// classes embedded from `prompts`' templates (its own classes are ignored).
struct ZeroShotEvaluation {
  std::map<int, double> accuracy;  // K -> fraction in [0, 1]
  size_t images = 0, classes = 0;
  double images_per_second = 0;
};
ZeroShotEvaluation evaluate_zeroshot(const Model& model, const std::string& class_folders, const PromptSet& prompts,
                                     const std::string& cache_dir, const std::vector<int>& ks, size_t threads = 0);

}  // namespace clipdex
