#pragma once
// The evaluation runs behind `clipdex eval`: embed a dataset with a model, score it, time it.
#include <map>
#include <string>
#include <vector>

#include "eval/datasets.h"
#include "eval/metrics.h"
#include "pipeline/embedder.h"
#include "search/zeroshot.h"

namespace clipdex::eval {

struct RetrievalReport {
  RetrievalMetrics metrics;
  double images_per_second = 0, texts_per_second = 0;
};

RetrievalReport evaluate_retrieval(const pipeline::Embedder& embedder, const CaptionSet& data, const std::vector<int>& ks,
                                   size_t threads = 0);

struct ZeroShotReport {
  std::map<int, double> accuracy;  // K -> top-K accuracy
  size_t images = 0, classes = 0;
  double images_per_second = 0;
};

ZeroShotReport evaluate_zeroshot(const pipeline::Embedder& embedder, const ClassFolders& data, search::PromptSet prompts,
                                 const std::string& cache_dir, const std::vector<int>& ks, size_t threads = 0);

// Unit-length embeddings of image files [n, dim], decoded on worker threads; the first
// unreadable file is an InputError naming it.
std::vector<float> embed_image_files(const pipeline::Embedder& embedder, const std::vector<std::string>& paths,
                                     size_t threads);

}  // namespace clipdex::eval
