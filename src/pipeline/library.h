#pragma once
// A library: the catalog (the one truth) and the vector index searches use. Two kinds:
//
// SQLite + FAISS (the embedded default): the catalog file (DB), its FAISS index (DB.faiss) and a
// writer lock (DB.lock). The index file is a verified cache of the catalog's embeddings
// (docs/STORAGE.md):
//   - one writer at a time per library (WriterLock); only the writer saves the index file, and
//     only an index it has brought to the catalog's current generation;
//   - readers follow the catalog: before each search, sync() applies the changes logged since the
//     generation the in-memory index reflects (or reloads / rebuilds it), so a running server
//     sees what another process indexed;
//   - the saved file is trusted only when its generation, XXH3 checksum and vector count match
//     what the catalog recorded at the save; anything else is rebuilt from the stored
//     embeddings, with a notice, never trusted and never fatal.
//
// PostgreSQL + pgvector (DB is a postgresql:// URL; docs/SCALE.md): the server holds the vectors
// and searches them (store/pgvector_index.h). Any number of writers, on any machines: each
// catalog change is one transaction under a server-side lock, so there is no writer lock file,
// no index file and nothing to sync.
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "index/vector_index.h"
#include "pipeline/writer_lock.h"
#include "store/catalog.h"

namespace clipdex::pipeline {

class Library {
 public:
  enum class Open { CreateIfMissing, Existing };

  // Opens the catalog at db_path; with Open::Existing a missing file is an InputError instead
  // of a new empty library (read-only commands never create one by a typo).
  explicit Library(const std::string& db_path, Open mode = Open::CreateIfMissing);
  ~Library();

  store::Catalog& catalog() { return catalog_; }
  const store::Catalog& catalog() const { return catalog_; }
  const std::string& db_path() const { return db_path_; }
  // db_path() as it may be shown: a PostgreSQL URL without its password.
  const std::string& name() const { return name_; }

  // Settings remembered by the database.
  std::string setting(const std::string& key, const std::string& fallback = "") const;
  void set_setting(const std::string& key, const std::string& value);

  // The model id every vector here was made with; binds an empty library to `model_id`.
  // Throws InputError when the library was built with another model.
  void check_model(const std::string& model_id, bool bind_if_empty);

  // Records how to open the model of its vectors (absolute paths), so later commands and
  // programs need only the database; `int8` marks vectors that only int8 queries match.
  struct ModelSource {
    std::string model, vocab, arch, text_model, adapter;
  };
  void remember_model(const ModelSource& source, std::optional<bool> int8);
  ModelSource remembered_model() const;

  // The folders this library indexes (files are served only from inside them), in the order
  // first seen; add_roots keeps that order and skips folders already held.
  std::vector<std::string> roots() const;
  void add_roots(const std::vector<std::string>& folders);

  // Becomes the library's one writer (see WriterLock). Returns false with Wait::No when another
  // process writes; holder() says who. Released by release_writer() or destruction.
  bool acquire_writer(const std::string& who, WriterLock::Wait wait);
  void release_writer();
  bool is_writer() const { return writer_ != nullptr || (postgres_ && postgres_writer_); }
  std::string writer_holder() const { return postgres_ ? "" : WriterLock::holder(lock_path()); }
  // True when the catalog is a PostgreSQL database.
  bool is_postgres() const { return postgres_; }

  // The writer lock for a scope: taken unless this Library holds it already (then it stays held
  // after the scope); LibraryBusy ("DB is being written by pid N (...)") when another process
  // has it and `wait` is No.
  class WriterScope {
   public:
    WriterScope(Library& lib, const std::string& who, WriterLock::Wait wait);
    ~WriterScope();
    WriterScope(const WriterScope&) = delete;
    WriterScope& operator=(const WriterScope&) = delete;

   private:
    Library& lib_;
    bool release_;
  };

  index::IndexType index_type() const;
  // Brings the in-memory index to the catalog's current generation (load, follow the change
  // log, or rebuild). Cheap when nothing changed. Takes mutex() itself: call without it.
  void sync();
  // The index as of the last sync (loading it first if needed); nullptr while the library
  // holds no vectors. Call with mutex() held, shared or exclusive.
  index::VectorIndex* vectors();
  // Applies a change to the catalog and to the index in step (writer only; takes mutex()).
  // Returns the ids of the new contents.
  std::vector<int64_t> apply(const store::CatalogChange& change);
  // Saves the index with its checksum, if this process is the writer; returns whether it did.
  // Call with mutex() held.
  bool save_vectors();
  // Rebuilds the index from the stored embeddings (after an index-type change). Writer only.
  void rebuild_vectors();

  // Searches a flat index on GPU `device` from now on (a copy of it in device memory; the
  // FAISS index stays the stored one). InputError when this build or machine has no such GPU.
  // HNSW / IVF-PQ indexes and PostgreSQL libraries keep searching where they are.
  void search_on_gpu(int device);

  // Where notices go ("the index did not verify; rebuilt"); default: stderr.
  void set_notice_handler(std::function<void(const std::string&)> fn) { notice_ = std::move(fn); }

  // Readers (searches) hold this shared; writers exclusively while they change the index.
  std::shared_mutex& mutex() { return mu_; }
  // One indexing or removing job at a time in this process (index_folders takes it): two jobs
  // would share one writer lock, and the first to finish would release it under the other.
  std::mutex& jobs_mutex() { return jobs_mu_; }

 private:
  std::string index_path() const { return db_path_ + ".faiss"; }
  std::string lock_path() const { return db_path_ + ".lock"; }
  void sync_locked();
  bool load_verified(std::string& why);
  void rebuild_from_catalog();
  bool apply_delta(const store::VectorDelta& d);
  void check_count(const char* when);
  void notice(const std::string& message) const;
  index::IndexParams index_params() const;
  void sync_postgres();
  void place_index();  // puts a new in-memory index on the GPU when search_on_gpu asked for it

  std::string db_path_;
  std::string name_;
  std::optional<int> gpu_device_;
  bool index_on_gpu_ = false;
  bool postgres_ = false;
  bool postgres_writer_ = false;
  store::Catalog catalog_;
  std::unique_ptr<index::VectorIndex> index_;
  int64_t index_generation_ = -1;  // the catalog generation index_ reflects; -1: not loaded
  size_t trained_on_ = 0;
  std::unique_ptr<WriterLock> writer_;
  std::shared_mutex mu_;
  std::mutex jobs_mu_;
  std::function<void(const std::string&)> notice_;
};

}  // namespace clipdex::pipeline
