// The GPU copy of a flat index (index/gpu_flat_index.cpp) with the GPU kernel replaced by an
// exact CPU search of the same contract: ids, order and scores must equal FAISS's flat search
// through adds, removals and filtered searches. (The kernel itself is checked against exact CPU
// search on a GPU by gpu_check: scripts/gpu-check.sh.) And what a build without CUDA says.
#include <algorithm>
#include <numeric>
#include <random>

#include <gtest/gtest.h>

#include "clipdex/clipdex.h"
#include "core/error.h"
#include "index/vector_index.h"
#include "kernels/backend.h"
#include "kernels/gpu_flat_search.h"
#include "test_util.h"

using namespace clipdex;

namespace {

// GpuFlatSearch's contract on the CPU: rows in insertion order, top k by score then row.
class ExactSearch final : public kernels::GpuFlatSearch {
 public:
  explicit ExactSearch(int64_t dim) : dim_(dim) {}
  int64_t dim() const override { return dim_; }
  int64_t size() const override { return static_cast<int64_t>(x_.size()) / dim_; }
  std::string device() const override { return "cpu stand-in"; }
  void add(const float* v, int64_t n) override { x_.insert(x_.end(), v, v + n * dim_); }
  void reset() override { x_.clear(); }
  void search(const float* q, int64_t nq, int64_t k, float* scores, int64_t* ids) override {
    for (int64_t i = 0; i < nq; ++i) {
      std::vector<float> s(static_cast<size_t>(size()));
      for (int64_t r = 0; r < size(); ++r)
        s[r] = std::inner_product(q + i * dim_, q + (i + 1) * dim_, x_.data() + r * dim_, 0.0f);
      std::vector<int64_t> order(s.size());
      std::iota(order.begin(), order.end(), 0);
      std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return s[a] != s[b] ? s[a] > s[b] : a < b; });
      for (int64_t j = 0; j < k; ++j) {
        const bool have = j < size();
        ids[i * k + j] = have ? order[j] : -1;
        scores[i * k + j] = have ? s[order[j]] : -INFINITY;
      }
    }
  }

 private:
  int64_t dim_;
  std::vector<float> x_;
};

std::vector<float> unit_vectors(size_t n, int dim, std::mt19937& rng) {
  std::normal_distribution<float> dist;
  std::vector<float> v(n * dim);
  for (size_t i = 0; i < n; ++i) {
    float norm = 0;
    for (int j = 0; j < dim; ++j) norm += (v[i * dim + j] = dist(rng)) * v[i * dim + j];
    for (int j = 0; j < dim; ++j) v[i * dim + j] /= std::sqrt(norm);
  }
  return v;
}

void expect_same(const std::vector<std::vector<index::Hit>>& a, const std::vector<std::vector<index::Hit>>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].size(), b[i].size()) << "query " << i;
    for (size_t j = 0; j < a[i].size(); ++j) {
      EXPECT_EQ(a[i][j].id, b[i][j].id) << "query " << i << " rank " << j;
      EXPECT_NEAR(a[i][j].score, b[i][j].score, 1e-5);
    }
  }
}

}  // namespace

TEST(GpuFlatIndex, SearchesLikeFaissThroughAddsAndRemovals) {
  const int dim = 32;
  std::mt19937 rng(5);
  index::IndexParams flat;
  auto reference = index::make_faiss_index(dim, flat, nullptr, 0);
  auto stored = index::make_faiss_index(dim, flat, nullptr, 0);
  const auto first = unit_vectors(300, dim, rng);
  std::vector<int64_t> ids(300);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = 1000 + static_cast<int64_t>(i) * 7;  // ids are not positions
  reference->add(first.data(), ids.data(), 150);
  stored->add(first.data(), ids.data(), 150);
  // Vectors already in the index when the GPU copy is made, and vectors added after.
  auto gpu = index::make_gpu_flat_index(std::move(stored), std::make_unique<ExactSearch>(dim));
  reference->add(first.data() + 150 * dim, ids.data() + 150, 150);
  gpu->add(first.data() + 150 * dim, ids.data() + 150, 150);
  EXPECT_EQ(gpu->size(), 300u);
  EXPECT_EQ(gpu->type(), index::IndexType::Flat);
  const auto q = unit_vectors(5, dim, rng);
  expect_same(gpu->search(q.data(), 5, 10), reference->search(q.data(), 5, 10));
  expect_same(gpu->search(q.data(), 5, 500), reference->search(q.data(), 5, 500));  // k past the size

  const std::vector<int64_t> gone = {ids[3], ids[150], ids[299]};
  ASSERT_TRUE(reference->remove(gone.data(), gone.size()));
  ASSERT_TRUE(gpu->remove(gone.data(), gone.size()));
  EXPECT_EQ(gpu->size(), 297u);
  const auto after = gpu->search(q.data(), 5, 300);
  expect_same(after, reference->search(q.data(), 5, 300));
  for (const auto& row : after)
    for (const auto& h : row) EXPECT_EQ(std::count(gone.begin(), gone.end(), h.id), 0);

  // Filtered searches go to the stored FAISS index.
  std::vector<int64_t> allowed = {ids[10], ids[20], ids[200]};
  std::sort(allowed.begin(), allowed.end());
  const auto a = gpu->search_among(q.data(), 2, allowed), b = reference->search_among(q.data(), 2, allowed);
  ASSERT_EQ(a.size(), b.size());
  for (size_t j = 0; j < a.size(); ++j) EXPECT_EQ(a[j].id, b[j].id);
}

TEST(GpuFlatIndex, OnlyFlatIndexesGetACopy) {
  index::IndexParams hnsw;
  hnsw.type = index::IndexType::HNSW;
  EXPECT_THROW(index::make_gpu_flat_index(index::make_faiss_index(8, hnsw, nullptr, 0), std::make_unique<ExactSearch>(8)),
               Error);
}

TEST(GpuFlatIndex, DeviceNamesAndABuildWithoutCuda) {
  const std::string dir = test::scratch_dir("gpu-search");
  Library lib = Library::open(dir + "/lib.db", Library::Create);
  lib.search_on("cpu");  // nothing to do
  EXPECT_THROW(lib.search_on("gpu"), InputError);
  if (kernels::cuda_built()) GTEST_SKIP() << "a CUDA build: its own tests cover --device cuda";
  try {
    lib.search_on("cuda");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("-DCLIPDEX_CUDA=ON"), std::string::npos) << e.what();
  }
}
