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

std::vector<ImageHit> Searcher::by_vector(std::span<const float> v, const Query& q,
                                          const std::vector<int64_t>& exclude) {
  if (q.k == 0) return {};
  if (q.offset + q.k > kMaxResultDepth)
    throw_input("offset + k is {}, past the deepest result a query may reach ({})", q.offset + q.k, kMaxResultDepth);
  lib_->sync();  // follow what another process (or this one) committed since the last search
  std::shared_lock lock(lib_->mutex());
  const auto* index = lib_->vectors();
  if (!index || index->size() == 0) return {};
  const auto& idx = *index;
  // Approximate indexes fetch more candidates, re-scored exactly from the stored vectors.
  const size_t depth = q.offset + q.k;
  const size_t fetch = (idx.exact_scores() ? depth : 4 * depth) + exclude.size();
  auto hits = idx.search(v.data(), 1, fetch)[0];
  if (hits.size() < std::min(fetch, idx.size())) {
    // An approximate index ran out of candidates before the depth asked for (HNSW does, deep
    // into a large library): score every stored vector instead of returning a short list.
    hits.clear();
    lib_->catalog().for_each_embedding([&](int64_t id, std::span<const float> e) { hits.push_back({id, dot(v, e)}); });
    const size_t keep = std::min(fetch, hits.size());
    std::partial_sort(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(keep), hits.end(),
                      [](const auto& a, const auto& b) { return a.score > b.score; });
    hits.resize(keep);
  } else if (!idx.exact_scores())
    for (auto& h : hits)
      if (auto e = lib_->catalog().embedding(h.id)) h.score = dot(v, *e);
  std::sort(hits.begin(), hits.end(), [](const auto& a, const auto& b) { return a.score > b.score; });
  std::vector<ImageHit> out;
  size_t skipped = 0;
  for (const auto& h : hits) {
    if (h.score < q.min_score || std::find(exclude.begin(), exclude.end(), h.id) != exclude.end()) continue;
    if (out.size() == q.k) break;
    if (skipped < q.offset) {
      ++skipped;
      continue;
    }
    ImageHit r;
    r.id = h.id;
    r.score = std::clamp(h.score, -1.0f, 1.0f);  // unit vectors; float rounding can pass 1
    r.paths = lib_->catalog().paths_of(h.id);
    if (r.paths.empty()) continue;  // removed meanwhile
    r.path = r.paths.front();
    if (auto c = lib_->catalog().content(h.id)) r.width = c->width, r.height = c->height;
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
