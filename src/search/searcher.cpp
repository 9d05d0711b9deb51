#include "search/searcher.h"

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <shared_mutex>

#include "core/error.h"
#include "core/mapped_file.h"
#include "image/decode.h"
#include "image/preprocess.h"

namespace clipdex::search {
namespace {

float dot(std::span<const float> a, std::span<const float> b) {
  float s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

}  // namespace

Searcher::Searcher(std::shared_ptr<pipeline::Library> lib, std::shared_ptr<const pipeline::Embedder> embedder,
                   size_t cache_entries)
    : lib_(std::move(lib)), embedder_(std::move(embedder)), cache_(cache_entries) {
  lib_->check_model(embedder_->model_id(), /*bind_if_empty=*/false);
}

std::vector<float> Searcher::text_embedding(const std::string& text) {
  if (auto hit = cache_.get(text)) return *hit;
  auto v = embedder_->embed_texts({text}, /*normalize=*/true);
  cache_.put(text, v);
  return v;
}

std::vector<float> Searcher::image_embedding(std::span<const uint8_t> bytes) {
  const auto pixels = image::preprocess(image::decode_image(bytes, embedder_->decode_options(decode_), "query image"), embedder_->model().preprocess_config());
  return embedder_->embed_pixels(pixels.data(), 1, /*normalize=*/true);
}

namespace {

// Filters that leave at most this many images are scored exactly without the index (reading a
// few thousand stored vectors is cheaper than a filtered graph / inverted-list walk).
constexpr size_t kScanAllowedBelow = 4096;

void best_first(std::vector<index::Hit>& hits, size_t keep) {
  keep = std::min(keep, hits.size());
  std::partial_sort(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(keep), hits.end(),
                    [](const auto& a, const auto& b) { return a.score > b.score || (a.score == b.score && a.id < b.id); });
  hits.resize(keep);
}

}  // namespace

std::vector<index::Hit> Searcher::candidates(std::span<const float> v, size_t fetch, const std::vector<int64_t>* allowed) {
  const auto* index = lib_->vectors();
  if (!index || index->size() == 0) return {};
  const auto& idx = *index;
  const size_t pool = allowed ? allowed->size() : idx.size();
  auto exact_over = [&](bool only_allowed) {
    std::vector<index::Hit> hits;
    if (only_allowed && allowed->size() <= kScanAllowedBelow) {
      for (const auto& [id, e] : lib_->catalog().embeddings(*allowed)) hits.push_back({id, dot(v, e)});
    } else {
      lib_->catalog().for_each_embedding([&](int64_t id, std::span<const float> e) {
        if (!only_allowed || std::binary_search(allowed->begin(), allowed->end(), id)) hits.push_back({id, dot(v, e)});
      });
    }
    best_first(hits, fetch);
    return hits;
  };
  if (allowed && allowed->size() <= kScanAllowedBelow) return exact_over(true);
  auto hits = allowed ? idx.search_among(v.data(), fetch, *allowed) : idx.search(v.data(), 1, fetch)[0];
  // An approximate index can run out of candidates before the depth asked for (HNSW deep into a
  // large library, or a filter that its walk rarely meets): score the stored vectors instead of
  // returning a short list.
  if (hits.size() < std::min(fetch, pool)) return exact_over(allowed != nullptr);
  if (!idx.exact_scores()) {
    std::vector<int64_t> ids;
    for (const auto& h : hits) ids.push_back(h.id);
    const auto stored = lib_->catalog().embeddings(ids);
    for (auto& h : hits)
      if (auto e = stored.find(h.id); e != stored.end()) h.score = dot(v, e->second);
  }
  best_first(hits, hits.size());
  return hits;
}

std::vector<ImageHit> Searcher::by_vector(std::span<const float> v, const Query& q,
                                          const std::vector<int64_t>& exclude) {
  if (q.k == 0) return {};
  if (q.offset + q.k > kMaxResultDepth)
    throw_input("offset + k is {}, past the deepest result a query may reach ({})", q.offset + q.k, kMaxResultDepth);
  lib_->sync();  // follow what another process (or this one) committed since the last search
  std::shared_lock lock(lib_->mutex());
  std::optional<std::vector<int64_t>> allowed;
  if (!q.filter.empty()) {
    allowed = lib_->catalog().contents_matching(q.filter);
    std::erase_if(*allowed, [&](int64_t id) { return std::find(exclude.begin(), exclude.end(), id) != exclude.end(); });
    if (allowed->empty()) return {};
  }
  // Approximate indexes fetch more candidates, re-scored exactly from the stored vectors.
  const size_t depth = q.offset + q.k;
  const auto* index = lib_->vectors();
  const size_t fetch = (!index || index->exact_scores() ? depth : 4 * depth) + exclude.size();
  auto hits = candidates(v, fetch, allowed ? &*allowed : nullptr);
  std::erase_if(hits, [&](const index::Hit& h) {
    return h.score < q.min_score || std::find(exclude.begin(), exclude.end(), h.id) != exclude.end();
  });
  if (hits.size() <= q.offset) return {};
  hits.erase(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(q.offset));
  if (hits.size() > q.k) hits.resize(q.k);
  std::vector<int64_t> ids;
  for (const auto& h : hits) ids.push_back(h.id);
  auto summaries = lib_->catalog().summaries(ids);
  std::vector<ImageHit> out;
  for (const auto& h : hits) {
    auto it = summaries.find(h.id);
    if (it == summaries.end() || it->second.paths.empty()) continue;  // removed meanwhile
    auto& sum = it->second;
    ImageHit r;
    r.id = h.id;
    r.score = std::clamp(h.score, -1.0f, 1.0f);  // unit vectors; float rounding can pass 1
    r.paths = std::move(sum.paths);
    r.path = r.paths.front();
    r.width = sum.width;
    r.height = sum.height;
    r.metadata = std::move(sum.metadata);
    r.date = sum.date;
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<ImageHit> Searcher::by_text(const std::string& text, const Query& q) { return by_vector(text_embedding(text), q); }

std::vector<ImageHit> Searcher::by_image_bytes(std::span<const uint8_t> bytes, const Query& q) {
  return by_vector(image_embedding(bytes), q);
}

std::vector<ImageHit> Searcher::by_image_file(const std::string& path, const Query& q) {
  const std::string bytes = read_file(path);
  return by_image_bytes({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, q);
}

std::vector<float> Searcher::stored_embedding(int64_t content_id) {
  auto v = lib_->catalog().embedding(content_id);
  if (!v) throw_input("no indexed image has id {}", content_id);
  return std::move(*v);
}

int64_t Searcher::content_id_of_path(const std::string& path) {
  std::error_code ec;
  const std::string canon = std::filesystem::weakly_canonical(path, ec).string();
  const auto id = lib_->catalog().content_of_path(ec ? path : canon);
  if (!id) throw_input("'{}' is not an indexed image", path);
  return *id;
}

std::vector<ImageHit> Searcher::like(int64_t content_id, const Query& q) {
  return by_vector(stored_embedding(content_id), q, {content_id});
}

std::vector<ImageHit> Searcher::like_path(const std::string& path, const Query& q) {
  return like(content_id_of_path(path), q);
}

std::vector<TextHit> Searcher::texts_for_vector(std::span<const float> v, const Query& q) {
  std::vector<TextHit> hits;
  lib_->catalog().for_each_text_embedding([&](int64_t id, std::span<const float> e) {
    const float s = std::clamp(dot(v, e), -1.0f, 1.0f);
    if (s >= q.min_score) hits.push_back({id, "", s});
  });
  const size_t depth = std::min(q.offset + q.k, hits.size());
  std::partial_sort(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(depth), hits.end(),
                    [](const auto& a, const auto& b) { return a.score > b.score; });
  hits.resize(depth);
  hits.erase(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(std::min(q.offset, depth)));
  for (auto& h : hits) h.text = lib_->catalog().text(h.id).value_or("");
  return hits;
}

std::vector<TextHit> Searcher::texts_for_image_bytes(std::span<const uint8_t> bytes, const Query& q) {
  return texts_for_vector(image_embedding(bytes), q);
}

}  // namespace clipdex::search
