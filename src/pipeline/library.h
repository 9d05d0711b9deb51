#pragma once
// A library on disk: the SQLite catalog (DB) plus its vector index (DB.faiss). The index file
// is a cache of the catalog's embeddings: it is trusted only when the generation recorded at
// its last save equals the catalog's, and rebuilt from the catalog otherwise (for example
// after the indexer was killed between a catalog commit and an index save).
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "index/vector_index.h"
#include "store/catalog.h"

namespace clipdex::pipeline {

class Library {
 public:
  // Opens (or creates) the catalog at db_path.
  explicit Library(const std::string& db_path);

  store::Catalog& catalog() { return catalog_; }
  const store::Catalog& catalog() const { return catalog_; }
  const std::string& db_path() const { return db_path_; }

  // Settings remembered by the database.
  std::string setting(const std::string& key, const std::string& fallback = "") const;
  void set_setting(const std::string& key, const std::string& value);

  // The model id every vector here was made with; binds an empty library to `model_id`.
  // Throws InputError when the library was built with another model.
  void check_model(const std::string& model_id, bool bind_if_empty);

  index::IndexType index_type() const;
  // The index, loaded or rebuilt as needed (dimension from the stored vectors); nullptr while
  // the library holds no vectors yet. Call with mutex() held, shared or exclusive.
  index::VectorIndex* vectors();
  // Applies added and removed vectors, already committed to the catalog, to the index
  // (rebuilding it from the catalog when it is not loaded or cannot remove).
  void update_vectors(const std::vector<int64_t>& added_ids, const std::vector<float>& added,
                      const std::vector<int64_t>& removed_ids);
  // Saves the index and records the catalog generation it reflects.
  void save_vectors();
  void rebuild_vectors();

  // Readers (searches) hold this shared; writers (indexing) exclusively while they change the index.
  std::shared_mutex& mutex() { return mu_; }

 private:
  std::string index_path() const { return db_path_ + ".faiss"; }
  std::string db_path_;
  store::Catalog catalog_;
  std::unique_ptr<index::VectorIndex> index_;
  size_t trained_on_ = 0;
  std::shared_mutex mu_;
  std::mutex load_mu_;  // readers holding mu_ shared may race to load the index: one loads
};

}  // namespace clipdex::pipeline
