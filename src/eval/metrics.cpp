#include "eval/metrics.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"

namespace clipdex::eval {
namespace {

// Indices of `row` (n scores, strided) ordered best first, ties by index.
std::vector<size_t> ranking(const float* row, size_t n, size_t stride) {
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return row[a * stride] > row[b * stride]; });
  return order;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

}  // namespace

RetrievalMetrics retrieval_metrics(const std::vector<float>& sim, size_t captions, size_t images,
                                   const std::vector<size_t>& caption_image, const std::vector<int>& ks) {
  CLIPDEX_CHECK_INPUT(sim.size() == captions * images && caption_image.size() == captions && captions > 0 && images > 0,
                      "retrieval metrics: inconsistent sizes");
  std::vector<std::vector<size_t>> own(images);
  for (size_t c = 0; c < captions; ++c) {
    CLIPDEX_CHECK_INPUT(caption_image[c] < images, "caption {} names image {} of {}", c, caption_image[c], images);
    own[caption_image[c]].push_back(c);
  }
  for (size_t i = 0; i < images; ++i) CLIPDEX_CHECK_INPUT(!own[i].empty(), "image {} has no caption", i);

  RetrievalMetrics m;
  m.captions = captions;
  m.images = images;
  std::vector<double> t2i_ranks, i2t_ranks;
  std::map<int, double> t2i_hits, i2t_hits, t2i_ap, i2t_ap;
  for (size_t c = 0; c < captions; ++c) {  // text -> image: one relevant image
    const auto order = ranking(&sim[c * images], images, 1);
    const size_t rank = static_cast<size_t>(std::find(order.begin(), order.end(), caption_image[c]) - order.begin()) + 1;
    t2i_ranks.push_back(static_cast<double>(rank));
    for (int k : ks) {
      if (rank <= static_cast<size_t>(k)) {
        t2i_hits[k] += 1;
        t2i_ap[k] += 1.0 / static_cast<double>(rank);
      }
    }
  }
  for (size_t i = 0; i < images; ++i) {  // image -> text: every own caption is relevant
    const auto order = ranking(&sim[i], captions, images);
    std::vector<bool> relevant(captions, false);
    for (size_t c : own[i]) relevant[c] = true;
    size_t best = captions;
    for (size_t r = 0; r < captions; ++r)
      if (relevant[order[r]]) {
        best = r + 1;
        break;
      }
    i2t_ranks.push_back(static_cast<double>(best));
    for (int k : ks) {
      const size_t kk = std::min<size_t>(static_cast<size_t>(k), captions);
      if (best <= kk) i2t_hits[k] += 1;
      double found = 0, sum = 0;
      for (size_t r = 0; r < kk; ++r)
        if (relevant[order[r]]) sum += ++found / static_cast<double>(r + 1);
      i2t_ap[k] += sum / static_cast<double>(std::min(kk, own[i].size()));
    }
  }
  for (int k : ks) {
    m.t2i_recall[k] = t2i_hits[k] / captions;
    m.i2t_recall[k] = i2t_hits[k] / images;
    m.t2i_map[k] = t2i_ap[k] / captions;
    m.i2t_map[k] = i2t_ap[k] / images;
  }
  m.t2i_mean_rank = std::accumulate(t2i_ranks.begin(), t2i_ranks.end(), 0.0) / captions;
  m.i2t_mean_rank = std::accumulate(i2t_ranks.begin(), i2t_ranks.end(), 0.0) / images;
  m.t2i_median_rank = median(t2i_ranks);
  m.i2t_median_rank = median(i2t_ranks);
  return m;
}

std::map<int, double> topk_accuracy(const std::vector<float>& scores, size_t n, size_t classes,
                                    const std::vector<size_t>& labels, const std::vector<int>& ks) {
  CLIPDEX_CHECK_INPUT(scores.size() == n * classes && labels.size() == n && n > 0, "top-k accuracy: inconsistent sizes");
  std::map<int, double> acc;
  for (int k : ks) acc[k] = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto order = ranking(&scores[i * classes], classes, 1);
    const size_t rank = static_cast<size_t>(std::find(order.begin(), order.end(), labels[i]) - order.begin()) + 1;
    for (int k : ks)
      if (rank <= static_cast<size_t>(k)) acc[k] += 1;
  }
  for (auto& [k, v] : acc) v /= static_cast<double>(n);
  return acc;
}

}  // namespace clipdex::eval
