#pragma once
// Queries against a library: text -> image, image -> image, more-like-this, image -> text.
// Scores are cosine similarities. Text query embeddings are cached (LRU).
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "image/decode.h"
#include "pipeline/embedder.h"
#include "pipeline/library.h"
#include "search/query_cache.h"

namespace clipdex::search {

struct ImageHit {
  int64_t id = -1;                 // content id (identical files share one)
  std::string path;                // first path holding it
  std::vector<std::string> paths;  // every path holding it
  float score = 0;
  int width = 0, height = 0;
  store::ImageMetadata metadata;
  int64_t date = 0;  // EXIF date taken, else the first file's mtime (seconds since 1970)
};

struct TextHit {
  int64_t id = -1;
  std::string text;
  float score = 0;
};

struct Query {
  size_t k = 10;
  float min_score = -1.0f;
  size_t offset = 0;            // results skipped before the k returned (paging)
  store::ContentFilter filter = {};  // applied inside the vector search: k results whenever k match
};

// The deepest result a query may reach (offset + k): paging past it is refused.
constexpr size_t kMaxResultDepth = 10000;

class Searcher {
 public:
  Searcher(std::shared_ptr<pipeline::Library> lib, std::shared_ptr<const pipeline::Embedder> embedder,
           size_t cache_entries = 1024);

  std::vector<ImageHit> by_text(const std::string& text, const Query& q);
  std::vector<ImageHit> by_image_bytes(std::span<const uint8_t> bytes, const Query& q);
  std::vector<ImageHit> by_image_file(const std::string& path, const Query& q);
  // More like an indexed image (by content id); the image itself is left out.
  std::vector<ImageHit> like(int64_t content_id, const Query& q);
  std::vector<ImageHit> like_path(const std::string& path, const Query& q);
  // Stored texts closest to an image.
  std::vector<TextHit> texts_for_image_bytes(std::span<const uint8_t> bytes, const Query& q);
  std::vector<TextHit> texts_for_vector(std::span<const float> v, const Query& q);

  std::vector<float> text_embedding(const std::string& text);  // cached, unit length
  std::vector<float> image_embedding(std::span<const uint8_t> bytes);
  // Images nearest a unit vector, leaving out the given content ids.
  std::vector<ImageHit> by_vector(std::span<const float> v, const Query& q, const std::vector<int64_t>& exclude = {});
  // The stored embedding of an indexed image (InputError when there is none).
  std::vector<float> stored_embedding(int64_t content_id);
  // The content id of an indexed file (InputError when it is not one).
  int64_t content_id_of_path(const std::string& path);

  void set_decode_options(const image::DecodeOptions& d) { decode_ = d; }
  QueryCache& cache() { return cache_; }
  pipeline::Library& library() { return *lib_; }
  const pipeline::Embedder& embedder() const { return *embedder_; }

 private:
  // Up to `fetch` nearest stored vectors (among `allowed` when given), best first, with exact
  // scores. Call with the library's mutex held.
  std::vector<index::Hit> candidates(std::span<const float> v, size_t fetch, const std::vector<int64_t>* allowed);

  std::shared_ptr<pipeline::Library> lib_;
  std::shared_ptr<const pipeline::Embedder> embedder_;
  QueryCache cache_;
  image::DecodeOptions decode_;
};

}  // namespace clipdex::search
