#include "search/duplicates.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <shared_mutex>
#include <unordered_map>

#include "core/error.h"

namespace clipdex::search {
namespace {

// Disjoint sets over positions 0..n-1.
struct UnionFind {
  std::vector<size_t> parent;
  explicit UnionFind(size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), size_t{0}); }
  size_t find(size_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  }
  void join(size_t a, size_t b) { parent[find(a)] = find(b); }
};

constexpr size_t kBatch = 256;      // queries per index search
constexpr size_t kFirstK = 16;      // neighbours asked first; doubled while all pass the threshold

float dot(const float* a, const float* b, size_t d) {
  float s = 0;
  for (size_t i = 0; i < d; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace

std::vector<DuplicateGroup> find_duplicates(pipeline::Library& lib, const DuplicateOptions& options) {
  if (!(options.threshold > 0.0f && options.threshold <= 1.0f))
    throw_input("the duplicate threshold must be a cosine in (0, 1], not {}", options.threshold);
  lib.sync();
  std::shared_lock lock(lib.mutex());
  const auto* index = lib.vectors();
  if (!index || index->size() < 2) return {};
  std::vector<int64_t> ids;
  std::vector<float> vectors;
  lib.catalog().for_each_embedding([&](int64_t id, std::span<const float> e) {
    ids.push_back(id);
    vectors.insert(vectors.end(), e.begin(), e.end());
  });
  const size_t n = ids.size(), d = static_cast<size_t>(index->dim());
  std::unordered_map<int64_t, size_t> position;
  for (size_t i = 0; i < n; ++i) position[ids[i]] = i;

  UnionFind sets(n);
  for (size_t b = 0; b < n; b += kBatch) {
    const size_t m = std::min(kBatch, n - b);
    std::vector<size_t> pending(m);
    std::iota(pending.begin(), pending.end(), b);
    for (size_t k = kFirstK; !pending.empty(); k *= 2) {
      std::vector<float> queries;
      for (size_t p : pending) queries.insert(queries.end(), vectors.begin() + p * d, vectors.begin() + (p + 1) * d);
      const auto hits = index->search(queries.data(), pending.size(), std::min(k, n));
      std::vector<size_t> wider;
      for (size_t qi = 0; qi < pending.size(); ++qi) {
        const size_t p = pending[qi];
        bool all_pass = hits[qi].size() == std::min(k, n);
        for (const auto& h : hits[qi]) {
          const auto it = position.find(h.id);
          if (it == position.end()) continue;  // removed since the index was built
          // Approximate (PQ) scores are re-scored exactly before they decide anything.
          const float s = index->exact_scores() ? h.score : dot(&vectors[p * d], &vectors[it->second * d], d);
          if (s < options.threshold) {
            all_pass = false;
            continue;
          }
          if (it->second != p) sets.join(p, it->second);
        }
        if (all_pass && k < n) wider.push_back(p);  // more neighbours may pass: ask for more
      }
      pending.swap(wider);
    }
  }

  std::map<size_t, std::vector<size_t>> members;  // root -> positions, ascending
  for (size_t i = 0; i < n; ++i) members[sets.find(i)].push_back(i);
  std::vector<DuplicateGroup> groups;
  for (const auto& [root, pos] : members) {
    if (pos.size() < 2) continue;
    DuplicateGroup g;
    for (size_t a : pos) {
      float best = -1.0f;
      for (size_t b : pos)
        if (a != b) best = std::max(best, dot(&vectors[a * d], &vectors[b * d], d));
      g.min_score = std::min(g.min_score, best);
      DuplicateImage img;
      img.id = ids[a];
      g.images.push_back(std::move(img));
    }
    std::sort(g.images.begin(), g.images.end(), [](const auto& x, const auto& y) { return x.id < y.id; });
    groups.push_back(std::move(g));
  }
  std::sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) {
    if (a.images.size() != b.images.size()) return a.images.size() > b.images.size();
    if (a.min_score != b.min_score) return a.min_score > b.min_score;
    return a.images.front().id < b.images.front().id;
  });
  if (groups.size() > options.max_groups) groups.resize(options.max_groups);
  for (auto& g : groups)
    for (auto& img : g.images) {
      img.paths = lib.catalog().paths_of(img.id);
      if (auto c = lib.catalog().content(img.id)) img.width = c->width, img.height = c->height;
    }
  return groups;
}

}  // namespace clipdex::search
