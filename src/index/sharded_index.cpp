// Shards: vectors go to shard (id mod n); a search asks every shard and merges by score.
#include <algorithm>

#include "core/error.h"
#include "core/thread_pool.h"
#include "index/vector_index.h"

namespace clipdex::index {
namespace {

class ShardedIndex final : public VectorIndex {
 public:
  explicit ShardedIndex(std::vector<std::unique_ptr<VectorIndex>> shards) : shards_(std::move(shards)) {
    if (shards_.empty()) throw Error("a sharded index needs at least one shard");
  }
  IndexType type() const override { return shards_[0]->type(); }
  int dim() const override { return shards_[0]->dim(); }
  size_t size() const override {
    size_t n = 0;
    for (const auto& s : shards_) n += s->size();
    return n;
  }
  bool exact_scores() const override {
    return std::all_of(shards_.begin(), shards_.end(), [](const auto& s) { return s->exact_scores(); });
  }

  void add(const float* x, const int64_t* ids, size_t n) override {
    for_each_shard(ids, n, [&](VectorIndex& shard, const std::vector<size_t>& rows) {
      std::vector<float> xs;
      std::vector<int64_t> is;
      for (size_t r : rows) {
        xs.insert(xs.end(), x + r * dim(), x + (r + 1) * dim());
        is.push_back(ids[r]);
      }
      shard.add(xs.data(), is.data(), is.size());
      return true;
    });
  }

  bool remove(const int64_t* ids, size_t n) override {
    bool ok = true;
    for_each_shard(ids, n, [&](VectorIndex& shard, const std::vector<size_t>& rows) {
      std::vector<int64_t> is;
      for (size_t r : rows) is.push_back(ids[r]);
      ok = shard.remove(is.data(), is.size()) && ok;
      return true;
    });
    return ok;
  }

  std::vector<std::vector<Hit>> search(const float* q, size_t nq, size_t k) const override {
    std::vector<std::vector<std::vector<Hit>>> parts(shards_.size());
    ThreadPool::global().parallel_for(shards_.size(), [&](size_t b, size_t e) {
      for (size_t s = b; s < e; ++s) parts[s] = shards_[s]->search(q, nq, k);
    });
    std::vector<std::vector<Hit>> out(nq);
    for (size_t i = 0; i < nq; ++i) {
      for (const auto& p : parts) out[i].insert(out[i].end(), p[i].begin(), p[i].end());
      std::sort(out[i].begin(), out[i].end(), [](const Hit& a, const Hit& b) { return a.score > b.score; });
      if (out[i].size() > k) out[i].resize(k);
    }
    return out;
  }

  std::vector<Hit> search_among(const float* q, size_t k, const std::vector<int64_t>& allowed) const override {
    std::vector<std::vector<int64_t>> per_shard(shards_.size());
    for (int64_t id : allowed) per_shard[static_cast<size_t>(id) % shards_.size()].push_back(id);  // stays sorted
    std::vector<std::vector<Hit>> parts(shards_.size());
    ThreadPool::global().parallel_for(shards_.size(), [&](size_t b, size_t e) {
      for (size_t s = b; s < e; ++s)
        if (!per_shard[s].empty()) parts[s] = shards_[s]->search_among(q, k, per_shard[s]);
    });
    std::vector<Hit> out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    std::sort(out.begin(), out.end(), [](const Hit& a, const Hit& b) { return a.score > b.score; });
    if (out.size() > k) out.resize(k);
    return out;
  }

  void save(const std::string& path) const override {
    for (size_t s = 0; s < shards_.size(); ++s) shards_[s]->save(path + ".shard" + std::to_string(s));
  }

 private:
  template <typename Fn>
  void for_each_shard(const int64_t* ids, size_t n, Fn fn) {
    std::vector<std::vector<size_t>> rows(shards_.size());
    for (size_t i = 0; i < n; ++i) rows[static_cast<size_t>(ids[i]) % shards_.size()].push_back(i);
    for (size_t s = 0; s < shards_.size(); ++s)
      if (!rows[s].empty()) fn(*shards_[s], rows[s]);
  }

  std::vector<std::unique_ptr<VectorIndex>> shards_;
};

}  // namespace

std::unique_ptr<VectorIndex> make_sharded_index(std::vector<std::unique_ptr<VectorIndex>> shards) {
  return std::make_unique<ShardedIndex>(std::move(shards));
}

}  // namespace clipdex::index
