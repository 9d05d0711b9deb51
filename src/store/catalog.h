#pragma once
// The catalog: one database — a SQLite file (WAL), or PostgreSQL with pgvector — holding every file seen, the distinct contents they
// hold (identical files share one content and one vector), the unit-length embedding of each
// content, stored texts for image->text search, and settings (model, vocab, index type).
// The vector index is derived from the embeddings here and can always be rebuilt from them;
// every change is one transaction, so a killed process leaves a consistent catalog.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace clipdex::store {

class Database;
enum class Engine;

struct FileRecord {
  std::string path;
  int64_t size = 0;
  int64_t mtime_ns = 0;  // as std::filesystem's clock counts (compared, not shown); see file_mtime_seconds
  int64_t content_id = -1;  // -1 when failed
  std::string status;       // "indexed" or "failed"
  std::string error;
};

// What the picture's file says about it (captured at index time; schema 3).
struct ImageMetadata {
  std::string format;               // "jpeg", "png", "heif", ...; "" when it could not be read
  std::optional<int64_t> taken_at;  // EXIF DateTimeOriginal, seconds since 1970 (wall clock read as UTC)
  std::string camera_make, camera_model;
};

struct ContentRecord {
  int64_t id = -1;
  std::string hash;
  int width = 0, height = 0;
  ImageMetadata metadata;
};

struct NewContent {
  std::string hash;
  int width = 0, height = 0;
  ImageMetadata metadata;
  std::vector<float> embedding;
  std::vector<FileRecord> files;  // files holding this content (content_id filled in on commit)
};

// One indexing step, applied atomically.
struct CatalogChange {
  std::vector<NewContent> contents;
  std::vector<FileRecord> files;          // upserts of files whose content already exists, or failures
  std::vector<std::string> removed_paths; // files gone from disk (or changed: re-added above)
};

// What changed in the set of vectors since some generation: drop `removed` from an index that
// reflected that generation, then add `added` ([added_ids.size(), dim]) to reach `generation`.
struct VectorDelta {
  int64_t generation = 0;
  std::vector<int64_t> removed;
  std::vector<int64_t> added_ids;
  std::vector<float> added;
};

// Which images a search may return; every part given must hold (an empty filter passes all).
// Files are matched, and a content passes when any file holding it does.
struct ContentFilter {
  std::vector<std::string> folders;     // absolute folders: files anywhere under one of them
  std::vector<std::string> path_globs;  // SQLite GLOB on the whole path ('*' also crosses '/')
  std::optional<int64_t> date_from, date_to;  // inclusive, seconds; the date is EXIF's, else the file's mtime
  int min_width = 0, min_height = 0;
  std::vector<std::string> formats;  // as ImageMetadata::format
  bool empty() const {
    return folders.empty() && path_globs.empty() && !date_from && !date_to && min_width <= 0 && min_height <= 0 &&
           formats.empty();
  }
};

// What a search result shows of a content, read for many ids at once.
struct ContentSummary {
  std::vector<std::string> paths;  // ordered
  int width = 0, height = 0;
  ImageMetadata metadata;
  int64_t date = 0;  // taken_at, else the first file's mtime (seconds)
};

struct CatalogStats {
  int64_t files = 0, failed = 0, contents = 0, texts = 0;
};

// A FileRecord::mtime_ns as seconds since 1970.
int64_t file_mtime_seconds(int64_t mtime_ns);

class Catalog {
 public:
  // A SQLite file path or a postgresql:// URL (store/sql.h); creates or migrates the schema.
  explicit Catalog(const std::string& location);
  ~Catalog();

  Engine engine() const;
  Database& database() const { return *db_; }

  std::optional<std::string> meta(const std::string& key) const;
  void set_meta(const std::string& key, const std::string& value);
  void set_meta_all(const std::map<std::string, std::string>& values);  // in one transaction

  // Every file record (path -> record), for diffing against a folder scan.
  std::unordered_map<std::string, FileRecord> files() const;
  std::optional<int64_t> content_by_hash(const std::string& hash) const;
  std::optional<ContentRecord> content(int64_t id) const;
  std::vector<std::string> paths_of(int64_t content_id) const;
  std::vector<FileRecord> files_of(int64_t content_id) const;  // ordered by path
  std::optional<int64_t> content_of_path(const std::string& path) const;
  std::optional<std::vector<float>> embedding(int64_t content_id) const;
  // The size of the stored vectors; nullopt while there are none.
  std::optional<int> vector_dim() const;

  // Contents passing the filter: sorted ids.
  std::vector<int64_t> contents_matching(const ContentFilter& filter) const;
  // Summaries / embeddings of many contents in one read (ids not stored are left out).
  std::unordered_map<int64_t, ContentSummary> summaries(const std::vector<int64_t>& ids) const;
  std::unordered_map<int64_t, std::vector<float>> embeddings(const std::vector<int64_t>& ids) const;
  // Contents indexed before metadata was captured (libraries from schema 2), with a path holding
  // each, up to `limit`; set_metadata() fills them in (format "" marks a file that could not be read).
  std::vector<std::pair<int64_t, std::string>> contents_without_metadata(size_t limit) const;
  void set_metadata(const std::vector<std::pair<int64_t, ImageMetadata>>& values);

  // Applies a change in one transaction; returns the ids of new contents (in order) and fills
  // `orphaned` with contents no file refers to any more (deleted along with their vectors).
  std::vector<int64_t> apply(const CatalogChange& change, std::vector<int64_t>& orphaned);

  // Monotonic counter bumped by every change to the set of vectors.
  int64_t generation() const;
  // The changes after generation `since`, read in one snapshot; nullopt when the change log no
  // longer reaches back that far (the reader then reloads or rebuilds).
  std::optional<VectorDelta> changes_since(int64_t since) const;
  // Every embedding, and the generation they make up, read in one snapshot.
  int64_t snapshot_embeddings(const std::function<void(int64_t id, std::span<const float>)>& fn) const;
  // Forgets the change log up to and including `generation`.
  void prune_log(int64_t generation);

  void for_each_embedding(const std::function<void(int64_t id, std::span<const float>)>& fn) const;

  // Stored texts (captions) for image->text search; duplicates are stored once.
  int64_t add_text(const std::string& text, std::span<const float> embedding);
  std::optional<std::string> text(int64_t id) const;
  void for_each_text_embedding(const std::function<void(int64_t id, std::span<const float>)>& fn) const;
  bool has_text(const std::string& text) const;

  // Re-embedding under another model (catalog_staging.cpp): new vectors are staged beside the
  // live ones, so searches go on and an interrupted run resumes, then swapped in at once.
  // Starts (or resumes) staging for `model_id`; vectors staged for another model are dropped.
  void begin_staging(const std::string& model_id);
  // Contents with no staged vector yet, after `after_id` by id: (id, hash), at most `limit`.
  std::vector<std::pair<int64_t, std::string>> unstaged_contents(int64_t after_id, size_t limit) const;
  void stage_embeddings(const std::vector<std::pair<int64_t, std::vector<float>>>& rows);  // one transaction
  int64_t staged_count() const;
  // In one transaction: the staged vectors and `texts` (id -> vector, every stored text) become
  // the library's, bound to `model_id`; contents with none staged (no file holds them any more)
  // are forgotten with their files. Returns how many were forgotten. Readers rebuild their index.
  int64_t commit_staged(const std::string& model_id, const std::vector<std::pair<int64_t, std::vector<float>>>& texts);
  std::vector<std::pair<int64_t, std::string>> all_texts() const;

  CatalogStats stats() const;
  int64_t content_count() const;  // stats().contents alone, without scanning the files

 private:
  void bump_generation();
  std::unique_ptr<Database> db_;
};

}  // namespace clipdex::store
