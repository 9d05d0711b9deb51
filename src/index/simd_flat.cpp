#include "index/simd_flat.h"

#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/impl/DistanceComputer.h>

#include <algorithm>
#include <limits>
#include <utility>
#include <vector>

#include "core/isa_clones.h"

namespace clipdex::index {
namespace {

class DotDistance final : public faiss::FlatCodesDistanceComputer {
 public:
  DotDistance(const float* xb, size_t d) : faiss::FlatCodesDistanceComputer(reinterpret_cast<const uint8_t*>(xb), d * sizeof(float)), xb_(xb), d_(d) {}
  void set_query(const float* x) override { q_ = x; }
  float distance_to_code(const uint8_t* code) override {
    return dot_product(q_, reinterpret_cast<const float*>(code), d_);
  }
  float symmetric_dis(idx_t i, idx_t j) override {
    return dot_product(xb_ + static_cast<size_t>(i) * d_, xb_ + static_cast<size_t>(j) * d_, d_);
  }

 private:
  const float* xb_;
  size_t d_;
  const float* q_ = nullptr;
};

// FAISS computes a batch of 20 or more queries with one BLAS product: faster than any dot loop.
constexpr faiss::Index::idx_t kBlasFrom = 20;

// Moves `flat`'s vectors into a new SimdFlatIP.
faiss::Index* upgraded(faiss::Index* storage) {
  auto* flat = dynamic_cast<faiss::IndexFlat*>(storage);
  if (!flat || dynamic_cast<SimdFlatIP*>(flat) || flat->metric_type != faiss::METRIC_INNER_PRODUCT) return nullptr;
  auto* simd = new SimdFlatIP(flat->d);
  simd->codes.swap(flat->codes);
  simd->ntotal = flat->ntotal;
  return simd;
}

}  // namespace

// 64 independent lanes: four AVX-512 (eight AVX2) accumulators, so the adds do not wait on each
// other's latency.
CLIPDEX_ISA_CLONES float dot_product(const float* a, const float* b, size_t d) {
  constexpr size_t kLanes = 64;
  float lanes[kLanes] = {};
  size_t i = 0;
  for (; i + kLanes <= d; i += kLanes)
    for (size_t j = 0; j < kLanes; ++j) lanes[j] += a[i + j] * b[i + j];
  float s = 0;
  for (; i < d; ++i) s += a[i] * b[i];
  for (float lane : lanes) s += lane;
  return s;
}

faiss::FlatCodesDistanceComputer* SimdFlatIP::get_FlatCodesDistanceComputer() const {
  return new DotDistance(get_xb(), static_cast<size_t>(d));
}

void SimdFlatIP::search(idx_t n, const float* x, idx_t k, float* distances, idx_t* labels,
                        const faiss::SearchParameters* params) const {
  if (n >= kBlasFrom || (params && params->sel)) return faiss::IndexFlatIP::search(n, x, k, distances, labels, params);
  const size_t dim = static_cast<size_t>(d);
  const float* xb = get_xb();
  using Scored = std::pair<float, idx_t>;
  // Min-heap of the best k: the worst kept is at the front. Ties go to the lower id, as FAISS does.
  const auto better = [](const Scored& a, const Scored& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
  std::vector<Scored> heap;
  for (idx_t q = 0; q < n; ++q) {
    heap.clear();
    const float* query = x + static_cast<size_t>(q) * dim;
    for (idx_t i = 0; i < ntotal; ++i) {
      const Scored s{dot_product(query, xb + static_cast<size_t>(i) * dim, dim), i};
      if (static_cast<idx_t>(heap.size()) < k) {
        heap.push_back(s);
        std::push_heap(heap.begin(), heap.end(), better);
      } else if (better(s, heap.front())) {
        std::pop_heap(heap.begin(), heap.end(), better);
        heap.back() = s;
        std::push_heap(heap.begin(), heap.end(), better);
      }
    }
    std::sort_heap(heap.begin(), heap.end(), better);
    for (idx_t j = 0; j < k; ++j) {
      const bool found = j < static_cast<idx_t>(heap.size());
      distances[q * k + j] = found ? heap[static_cast<size_t>(j)].first : -std::numeric_limits<float>::infinity();
      labels[q * k + j] = found ? heap[static_cast<size_t>(j)].second : -1;
    }
  }
}

void use_simd_storage(faiss::Index* index) {
  auto* map = dynamic_cast<faiss::IndexIDMap2*>(index);
  if (!map) return;
  if (auto* hnsw = dynamic_cast<faiss::IndexHNSW*>(map->index)) {
    if (auto* simd = upgraded(hnsw->storage)) {
      if (hnsw->own_fields) delete hnsw->storage;
      hnsw->storage = simd;
      hnsw->own_fields = true;
    }
  } else if (auto* simd = upgraded(map->index)) {
    if (map->own_fields) delete map->index;
    map->index = simd;
    map->own_fields = true;
  }
}

}  // namespace clipdex::index
