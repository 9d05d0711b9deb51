#pragma once
// Retrieval metrics of the standard zero-shot protocol, from a caption x image similarity matrix.
// Ranking: by score, best first; equal scores are ordered by index (lower first), so results are
// deterministic. Ranks are 1-based.
#include <cstddef>
#include <map>
#include <vector>

namespace clipdex::eval {

struct RetrievalMetrics {
  std::map<int, double> t2i_recall, i2t_recall;  // K -> fraction in [0, 1]
  std::map<int, double> t2i_map, i2t_map;        // K -> mAP@K
  double t2i_mean_rank = 0, i2t_mean_rank = 0;   // i2t: rank of the best-ranked own caption
  double t2i_median_rank = 0, i2t_median_rank = 0;
  size_t captions = 0, images = 0;
};

// sim: [captions, images] row-major; caption_image[c]: index of caption c's image.
// Every image must have at least one caption.
RetrievalMetrics retrieval_metrics(const std::vector<float>& sim, size_t captions, size_t images,
                                   const std::vector<size_t>& caption_image, const std::vector<int>& ks);

// Top-k accuracy for zero-shot classification: logits [n, classes], labels [n].
std::map<int, double> topk_accuracy(const std::vector<float>& scores, size_t n, size_t classes,
                                    const std::vector<size_t>& labels, const std::vector<int>& ks);

}  // namespace clipdex::eval
