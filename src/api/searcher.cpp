// clipdex::Searcher: queries (weighted sums of text, image and stored-image terms) against a
// library, over search::Searcher and its text-embedding cache.
#include <cmath>

#include "api/conversions.h"
#include "clipdex/clipdex.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "core/thread_pool.h"
#include "search/query_terms.h"

namespace clipdex {

struct Searcher::Impl {
  Impl(const Library& library, const Model& model, size_t cache_entries)
      : searcher(library.internals(), model.internals(), cache_entries) {}

  search::Searcher searcher;

  // The query's unit vector: the weighted sum of its terms' unit embeddings, re-normalised;
  // `exclude` gets the stored images a positive "like" term asks more of.
  std::vector<float> vector_of(const Query& query, std::vector<int64_t>& exclude) {
    if (query.terms.empty()) throw InputError("a query needs at least one term");
    std::vector<search::WeightedVector> terms;
    for (const auto& t : query.terms) {
      const int given = int(!t.text.empty()) + int(!t.image_file.empty()) + int(!t.image_data.empty()) + int(t.like_id >= 0);
      if (given != 1) throw InputError("each query term gives exactly one of a text, an image or an indexed image's id");
      if (!std::isfinite(t.weight)) throw InputError("a term's weight must be a finite number");
      if (!t.text.empty()) {
        terms.push_back({searcher.text_embedding(t.text), t.weight});
      } else if (!t.image_file.empty()) {
        const std::string bytes = read_file(t.image_file);
        terms.push_back({searcher.image_embedding({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}), t.weight});
      } else if (!t.image_data.empty()) {
        const auto& b = t.image_data;
        terms.push_back({searcher.image_embedding({reinterpret_cast<const uint8_t*>(b.data()), b.size()}), t.weight});
      } else {
        terms.push_back({searcher.stored_embedding(t.like_id), t.weight});
        if (t.weight > 0) exclude.push_back(t.like_id);  // more like it: the image itself is no result
      }
    }
    return search::combine_terms(terms);  // InputError when the terms cancel out
  }

  search::Query depth_of(const Query& query) const {
    if (query.k < 1 || query.offset + query.k > kMaxResultDepth)
      throw_input("k must be at least 1 and offset + k at most {}", kMaxResultDepth);
    if (!(query.min_score >= -1.0f && query.min_score <= 1.0f)) throw InputError("min_score must be from -1 to 1");
    search::Query q;
    q.k = query.k;
    q.offset = query.offset;
    q.min_score = query.min_score;
    return q;
  }
};

Searcher::Searcher(Library library, Model model, Options options)
    : library_(std::move(library)),
      model_(std::move(model)),
      impl_(std::make_shared<Impl>(library_, model_, options.cache_entries)) {
  image::DecodeOptions d;  // the model's own (exact or reduced decode) are applied over it
  if (options.max_pixels > 0) d.max_pixels = options.max_pixels;
  impl_->searcher.set_decode_options(d);
}

std::vector<ImageHit> Searcher::images(const Query& query) {
  const ThreadPool::Limit limit(model_.options().threads);
  auto q = impl_->depth_of(query);
  q.filter = api::content_filter(query.filters);
  std::vector<int64_t> exclude;
  const auto v = impl_->vector_of(query, exclude);
  std::vector<ImageHit> out;
  for (auto& h : impl_->searcher.by_vector(v, q, exclude)) out.push_back(api::public_hit(std::move(h)));
  return out;
}

std::vector<TextHit> Searcher::texts(const Query& query) {
  const ThreadPool::Limit limit(model_.options().threads);
  if (!query.filters.empty()) throw InputError("filters apply to image results, not to texts");
  const auto q = impl_->depth_of(query);
  std::vector<int64_t> exclude;
  const auto v = impl_->vector_of(query, exclude);
  std::vector<TextHit> out;
  for (auto& h : impl_->searcher.texts_for_vector(v, q)) out.push_back({h.id, std::move(h.text), h.score});
  return out;
}

Searcher::CacheStats Searcher::cache() const {
  auto& c = impl_->searcher.cache();
  return {c.size(), static_cast<int64_t>(c.hits()), static_cast<int64_t>(c.misses())};
}

}  // namespace clipdex
