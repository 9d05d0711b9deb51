// Catalog: staging a whole library's vectors under another model, then swapping them in.
#include "store/catalog.h"

#include "core/error.h"
#include "store/pgvector_index.h"
#include "store/sql.h"

namespace clipdex::store {

void Catalog::begin_staging(const std::string& model_id) {
  Transaction tx(*db_);
  if (meta("staged_model_id").value_or("") != model_id) {
    db_->exec("DELETE FROM staged_embeddings");
    set_meta("staged_model_id", model_id);
  }
  tx.commit();
}

std::vector<std::pair<int64_t, std::string>> Catalog::unstaged_contents(int64_t after_id, size_t limit) const {
  Statement s(*db_,
              "SELECT id, hash FROM contents WHERE id > ? AND id NOT IN (SELECT content_id FROM staged_embeddings) "
              "ORDER BY id LIMIT ?");
  s.bind(1, after_id).bind(2, static_cast<int64_t>(limit));
  std::vector<std::pair<int64_t, std::string>> out;
  while (s.step()) out.emplace_back(s.i64(0), s.text(1));
  return out;
}

void Catalog::stage_embeddings(const std::vector<std::pair<int64_t, std::vector<float>>>& rows) {
  Transaction tx(*db_);
  Statement s(*db_, "INSERT INTO staged_embeddings(content_id, embedding) VALUES(?, ?) "
                 "ON CONFLICT(content_id) DO UPDATE SET embedding = excluded.embedding");
  for (const auto& [id, v] : rows) {
    s.bind(1, id).bind(2, std::span<const float>(v)).run();
  }
  tx.commit();
}

int64_t Catalog::staged_count() const {
  Statement s(*db_, "SELECT COUNT(*) FROM staged_embeddings");
  s.step();
  return s.i64(0);
}

std::vector<std::pair<int64_t, std::string>> Catalog::all_texts() const {
  Statement s(*db_, "SELECT id, text FROM texts ORDER BY id");
  std::vector<std::pair<int64_t, std::string>> out;
  while (s.step()) out.emplace_back(s.i64(0), s.text(1));
  return out;
}

int64_t Catalog::commit_staged(const std::string& model_id,
                               const std::vector<std::pair<int64_t, std::vector<float>>>& texts) {
  Transaction tx(*db_);
  if (meta("staged_model_id").value_or("") != model_id) throw_input("no vectors are staged for model {}", model_id);
  Statement gone(*db_, "SELECT COUNT(*) FROM contents WHERE id NOT IN (SELECT content_id FROM staged_embeddings)");
  gone.step();
  const int64_t forgotten = gone.i64(0);
  // PostgreSQL's HNSW index is built for one dimension: the library makes it again afterwards.
  if (db_->engine() == Engine::PostgreSQL) drop_pgvector_index(*this);
  db_->exec(
      "DELETE FROM files WHERE content_id IN "
      "(SELECT id FROM contents WHERE id NOT IN (SELECT content_id FROM staged_embeddings));"
      "DELETE FROM contents WHERE id NOT IN (SELECT content_id FROM staged_embeddings);"
      "UPDATE contents SET embedding = (SELECT s.embedding FROM staged_embeddings s WHERE s.content_id = contents.id);"
      "DELETE FROM staged_embeddings;");
  if (db_->engine() == Engine::SQLite) db_->exec("DELETE FROM vector_log");
  Statement t(*db_, "UPDATE texts SET embedding = ? WHERE id = ?");
  for (const auto& [id, v] : texts) {
    t.bind(1, std::span<const float>(v)).bind(2, id).run();
  }
  // Every vector changed: readers further back than this generation rebuild their index.
  bump_generation();
  set_meta("log_from", std::to_string(generation()));
  set_meta("model_id", model_id);
  db_->exec("DELETE FROM meta WHERE key = 'staged_model_id'");
  tx.commit();
  return forgotten;
}

}  // namespace clipdex::store
