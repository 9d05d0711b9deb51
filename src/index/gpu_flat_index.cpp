// A flat index with a GPU copy for its unfiltered searches. The copy holds the vectors in the
// FAISS index's storage order, so a GPU hit's position maps to an id through ids_; removals
// (rare: files deleted or re-embedded) rebuild the copy from the FAISS index.
#include <stdexcept>

#include "core/error.h"
#include "index/vector_index.h"
#include "kernels/gpu_flat_search.h"

namespace clipdex::index {
namespace {

class GpuFlatIndex final : public VectorIndex {
 public:
  GpuFlatIndex(std::unique_ptr<VectorIndex> flat, std::unique_ptr<kernels::GpuFlatSearch> gpu)
      : flat_(std::move(flat)), gpu_(std::move(gpu)) {
    if (flat_->type() != IndexType::Flat) throw Error("a GPU copy is made of flat indexes only");
    if (gpu_->dim() != flat_->dim()) throw Error("the GPU copy's width differs from the index's");
    mirror();
  }

  IndexType type() const override { return IndexType::Flat; }
  int dim() const override { return flat_->dim(); }
  size_t size() const override { return flat_->size(); }
  bool exact_scores() const override { return true; }

  void add(const float* x, const int64_t* ids, size_t n) override {
    flat_->add(x, ids, n);
    gpu_->add(x, static_cast<int64_t>(n));
    ids_.insert(ids_.end(), ids, ids + n);
  }

  bool remove(const int64_t* ids, size_t n) override {
    if (!flat_->remove(ids, n)) return false;
    if (n) mirror();
    return true;
  }

  std::vector<std::vector<Hit>> search(const float* q, size_t nq, size_t k) const override {
    std::vector<std::vector<Hit>> out(nq);
    k = std::min(k, ids_.size());
    if (k == 0 || nq == 0) return out;
    std::vector<float> scores(nq * k);
    std::vector<int64_t> rows(nq * k);
    gpu_->search(q, static_cast<int64_t>(nq), static_cast<int64_t>(k), scores.data(), rows.data());
    for (size_t i = 0; i < nq; ++i)
      for (size_t j = 0; j < k; ++j)
        if (const int64_t r = rows[i * k + j]; r >= 0) out[i].push_back({ids_[static_cast<size_t>(r)], scores[i * k + j]});
    return out;
  }

  // Filtered searches stay with FAISS (its ID selector skips what is not allowed).
  std::vector<Hit> search_among(const float* q, size_t k, const std::vector<int64_t>& allowed) const override {
    return flat_->search_among(q, k, allowed);
  }

  void save(const std::string& path) const override { flat_->save(path); }

  bool flat_contents(std::vector<float>& vectors, std::vector<int64_t>& ids) const override {
    return flat_->flat_contents(vectors, ids);
  }

 private:
  void mirror() {
    std::vector<float> vectors;
    if (!flat_->flat_contents(vectors, ids_)) throw Error("the index gave no flat contents for its GPU copy");
    gpu_->reset();
    gpu_->add(vectors.data(), static_cast<int64_t>(ids_.size()));
  }

  std::unique_ptr<VectorIndex> flat_;
  std::unique_ptr<kernels::GpuFlatSearch> gpu_;
  std::vector<int64_t> ids_;  // id of each row of the GPU copy
};

}  // namespace

std::unique_ptr<VectorIndex> make_gpu_flat_index(std::unique_ptr<VectorIndex> flat,
                                                 std::unique_ptr<kernels::GpuFlatSearch> gpu) {
  return std::make_unique<GpuFlatIndex>(std::move(flat), std::move(gpu));
}

}  // namespace clipdex::index
