#include "store/catalog.h"

#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "store/sqlite.h"

namespace clipdex::store {
namespace {

// 2: vector_log (the changes readers follow without rebuilding their index).
// 3: image metadata on contents (format, EXIF date taken, camera), for filters.
constexpr int kSchemaVersion = 3;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS contents (
  id INTEGER PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  embedding BLOB NOT NULL,
  format TEXT,
  taken_at INTEGER,
  camera_make TEXT,
  camera_model TEXT
);
CREATE TABLE IF NOT EXISTS files (
  path TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  content_id INTEGER REFERENCES contents(id),
  status TEXT NOT NULL,
  error TEXT
);
CREATE INDEX IF NOT EXISTS files_content ON files(content_id);
CREATE TABLE IF NOT EXISTS texts (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE, embedding BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS vector_log (generation INTEGER NOT NULL, id INTEGER NOT NULL, added INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS vector_log_generation ON vector_log(generation);
CREATE TABLE IF NOT EXISTS staged_embeddings (content_id INTEGER PRIMARY KEY, embedding BLOB NOT NULL);
)sql";

// Columns added since a table was first created: (table, column, type).
constexpr const char* kAddedColumns[][3] = {
    {"contents", "format", "TEXT"},
    {"contents", "taken_at", "INTEGER"},
    {"contents", "camera_make", "TEXT"},
    {"contents", "camera_model", "TEXT"},
};

bool has_column(Database& db, const std::string& table, const std::string& column) {
  Statement s(db.handle(), ("SELECT 1 FROM pragma_table_info('" + table + "') WHERE name = ?").c_str());
  s.bind(1, column);
  return s.step();
}

FileRecord read_file_row(const Statement& s) {
  return {s.text(0), s.i64(1), s.i64(2), s.is_null(3) ? -1 : s.i64(3), s.text(4), s.text(5)};
}

void bind_metadata(Statement& s, int first, const ImageMetadata& m) {
  s.bind(first, m.format);
  if (m.taken_at) s.bind(first + 1, *m.taken_at);
  else s.bind_null(first + 1);
  s.bind(first + 2, m.camera_make).bind(first + 3, m.camera_model);
}

}  // namespace

Catalog::Catalog(const std::string& path) : db_(std::make_unique<Database>(path)) {
  Transaction tx(*db_);
  db_->exec(kSchema);
  const auto v = meta("schema_version");
  if (v && std::stoi(*v) > kSchemaVersion)
    throw_input("'{}' was written by a newer clipdex (schema {} > {})", path, *v, kSchemaVersion);
  const int from = v ? std::stoi(*v) : 0;
  if (from < 2) set_meta("log_from", std::to_string(generation()));  // readers behind it reload
  if (from < 3)
    // Existing contents keep their vectors; metadata columns start NULL and the next index run
    // fills them from the files (Catalog::contents_without_metadata), without re-embedding.
    for (const auto& [table, column, type] : kAddedColumns)
      if (!has_column(*db_, table, column))
        db_->exec(fmt::format("ALTER TABLE {} ADD COLUMN {} {}", table, column, type).c_str());
  if (from < kSchemaVersion) set_meta("schema_version", std::to_string(kSchemaVersion));
  tx.commit();
}

Catalog::~Catalog() = default;

std::optional<std::string> Catalog::meta(const std::string& key) const {
  Statement s(db_->handle(), "SELECT value FROM meta WHERE key = ?");
  s.bind(1, key);
  if (s.step()) return s.text(0);
  return std::nullopt;
}

void Catalog::set_meta_all(const std::map<std::string, std::string>& values) {
  Transaction tx(*db_);
  for (const auto& [k, v] : values) set_meta(k, v);
  tx.commit();
}

void Catalog::set_meta(const std::string& key, const std::string& value) {
  Statement s(db_->handle(), "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  s.bind(1, key).bind(2, value).run();
}

std::unordered_map<std::string, FileRecord> Catalog::files() const {
  std::unordered_map<std::string, FileRecord> out;
  Statement s(db_->handle(), "SELECT path, size, mtime_ns, content_id, status, COALESCE(error, '') FROM files");
  while (s.step()) {
    auto r = read_file_row(s);
    out.emplace(r.path, std::move(r));
  }
  return out;
}

std::optional<int64_t> Catalog::content_by_hash(const std::string& hash) const {
  Statement s(db_->handle(), "SELECT id FROM contents WHERE hash = ?");
  s.bind(1, hash);
  if (s.step()) return s.i64(0);
  return std::nullopt;
}

std::optional<ContentRecord> Catalog::content(int64_t id) const {
  Statement s(db_->handle(),
              "SELECT id, hash, width, height, COALESCE(format, ''), taken_at, COALESCE(camera_make, ''), "
              "COALESCE(camera_model, '') FROM contents WHERE id = ?");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  ImageMetadata m{s.text(4), s.is_null(5) ? std::nullopt : std::optional<int64_t>(s.i64(5)), s.text(6), s.text(7)};
  return ContentRecord{s.i64(0), s.text(1), static_cast<int>(s.i64(2)), static_cast<int>(s.i64(3)), std::move(m)};
}

std::vector<std::string> Catalog::paths_of(int64_t content_id) const {
  Statement s(db_->handle(), "SELECT path FROM files WHERE content_id = ? ORDER BY path");
  s.bind(1, content_id);
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.text(0));
  return out;
}

std::vector<FileRecord> Catalog::files_of(int64_t content_id) const {
  Statement s(db_->handle(),
              "SELECT path, size, mtime_ns, content_id, status, COALESCE(error, '') FROM files WHERE content_id = ? "
              "ORDER BY path");
  s.bind(1, content_id);
  std::vector<FileRecord> out;
  while (s.step()) out.push_back(read_file_row(s));
  return out;
}

std::optional<int64_t> Catalog::content_of_path(const std::string& path) const {
  Statement s(db_->handle(), "SELECT content_id FROM files WHERE path = ? AND content_id IS NOT NULL");
  s.bind(1, path);
  if (s.step()) return s.i64(0);
  return std::nullopt;
}

std::optional<std::vector<float>> Catalog::embedding(int64_t content_id) const {
  Statement s(db_->handle(), "SELECT embedding FROM contents WHERE id = ?");
  s.bind(1, content_id);
  if (s.step()) return s.floats(0);
  return std::nullopt;
}

std::vector<std::pair<int64_t, std::string>> Catalog::contents_without_metadata(size_t limit) const {
  Statement s(db_->handle(),
              "SELECT c.id, (SELECT MIN(path) FROM files WHERE content_id = c.id) FROM contents c "
              "WHERE c.format IS NULL ORDER BY c.id LIMIT ?");
  s.bind(1, static_cast<int64_t>(limit));
  std::vector<std::pair<int64_t, std::string>> out;
  while (s.step()) out.emplace_back(s.i64(0), s.is_null(1) ? "" : s.text(1));
  return out;
}

void Catalog::set_metadata(const std::vector<std::pair<int64_t, ImageMetadata>>& values) {
  Transaction tx(*db_);
  Statement s(db_->handle(), "UPDATE contents SET format = ?, taken_at = ?, camera_make = ?, camera_model = ? WHERE id = ?");
  for (const auto& [id, m] : values) {
    bind_metadata(s, 1, m);
    s.bind(5, id).run();
  }
  tx.commit();
}

std::vector<int64_t> Catalog::apply(const CatalogChange& change, std::vector<int64_t>& orphaned) {
  Transaction tx(*db_);
  Statement del(db_->handle(), "DELETE FROM files WHERE path = ?");
  Statement put_file(db_->handle(),
                     "INSERT INTO files(path, size, mtime_ns, content_id, status, error) VALUES(?, ?, ?, ?, ?, ?) "
                     "ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, "
                     "content_id = excluded.content_id, status = excluded.status, error = excluded.error");
  Statement put_content(db_->handle(),
                        "INSERT INTO contents(hash, width, height, embedding, format, taken_at, camera_make, camera_model) "
                        "VALUES(?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(hash) DO NOTHING");
  auto write_file = [&](const FileRecord& f, int64_t content_id) {
    put_file.bind(1, f.path).bind(2, f.size).bind(3, f.mtime_ns);
    if (content_id >= 0) put_file.bind(4, content_id);
    else put_file.bind_null(4);
    put_file.bind(5, f.status);
    if (f.error.empty()) put_file.bind_null(6);
    else put_file.bind(6, f.error);
    put_file.run();
  };
  for (const auto& p : change.removed_paths) del.bind(1, p).run();
  std::vector<int64_t> new_ids;
  for (const auto& c : change.contents) {
    put_content.bind(1, c.hash).bind(2, int64_t{c.width}).bind(3, int64_t{c.height}).bind(4, std::span<const float>(c.embedding));
    bind_metadata(put_content, 5, c.metadata);
    put_content.run();
    const int64_t id = *content_by_hash(c.hash);
    new_ids.push_back(id);
    for (const auto& f : c.files) write_file(f, id);
  }
  for (const auto& f : change.files) write_file(f, f.content_id);
  // Contents no file refers to any more go, with their vectors.
  orphaned.clear();
  Statement orphans(db_->handle(),
                    "SELECT id FROM contents WHERE NOT EXISTS (SELECT 1 FROM files WHERE files.content_id = contents.id)");
  while (orphans.step()) orphaned.push_back(orphans.i64(0));
  Statement drop(db_->handle(), "DELETE FROM contents WHERE id = ?");
  for (int64_t id : orphaned) drop.bind(1, id).run();
  if (!new_ids.empty() || !orphaned.empty()) {
    bump_generation();
    Statement log(db_->handle(), "INSERT INTO vector_log(generation, id, added) VALUES(?, ?, ?)");
    const int64_t g = generation();
    for (int64_t id : orphaned) log.bind(1, g).bind(2, id).bind(3, int64_t{0}).run();
    for (int64_t id : new_ids) log.bind(1, g).bind(2, id).bind(3, int64_t{1}).run();
  }
  tx.commit();
  return new_ids;
}

std::optional<VectorDelta> Catalog::changes_since(int64_t since) const {
  Transaction snapshot(*db_, /*write=*/false);
  VectorDelta d;
  d.generation = generation();
  if (since == d.generation) return d;
  const auto from = meta("log_from");
  if (since > d.generation || !from || since < std::stoll(*from)) return std::nullopt;
  // Ids removed at some point leave the index; every touched id still stored comes (back) in
  // with its current vector. An id only ever added was not in an index of generation `since`.
  std::set<int64_t> touched, removed;
  Statement log(db_->handle(), "SELECT id, added FROM vector_log WHERE generation > ? AND generation <= ?");
  log.bind(1, since).bind(2, d.generation);
  while (log.step()) {
    touched.insert(log.i64(0));
    if (log.i64(1) == 0) removed.insert(log.i64(0));
  }
  d.removed.assign(removed.begin(), removed.end());
  Statement emb(db_->handle(), "SELECT embedding FROM contents WHERE id = ?");
  for (int64_t id : touched) {
    emb.bind(1, id);
    if (emb.step()) {
      const auto v = emb.floats(0);
      d.added_ids.push_back(id);
      d.added.insert(d.added.end(), v.begin(), v.end());
    }
    emb.reset();
  }
  snapshot.commit();
  return d;
}

int64_t Catalog::snapshot_embeddings(const std::function<void(int64_t, std::span<const float>)>& fn) const {
  Transaction snapshot(*db_, /*write=*/false);
  const int64_t g = generation();
  for_each_embedding(fn);
  snapshot.commit();
  return g;
}

void Catalog::prune_log(int64_t up_to) {
  Transaction tx(*db_);
  Statement s(db_->handle(), "DELETE FROM vector_log WHERE generation <= ?");
  s.bind(1, up_to).run();
  const auto from = meta("log_from");
  if (!from || std::stoll(*from) < up_to) set_meta("log_from", std::to_string(up_to));
  tx.commit();
}

int64_t Catalog::generation() const {
  const auto g = meta("generation");
  return g ? std::stoll(*g) : 0;
}

void Catalog::bump_generation() { set_meta("generation", std::to_string(generation() + 1)); }

void Catalog::for_each_embedding(const std::function<void(int64_t, std::span<const float>)>& fn) const {
  Statement s(db_->handle(), "SELECT id, embedding FROM contents ORDER BY id");
  while (s.step()) {
    const auto v = s.floats(1);
    fn(s.i64(0), v);
  }
}

int64_t Catalog::add_text(const std::string& text, std::span<const float> embedding) {
  Statement s(db_->handle(), "INSERT INTO texts(text, embedding) VALUES(?, ?) ON CONFLICT(text) DO NOTHING");
  s.bind(1, text).bind(2, embedding).run();
  Statement q(db_->handle(), "SELECT id FROM texts WHERE text = ?");
  q.bind(1, text);
  q.step();
  return q.i64(0);
}

bool Catalog::has_text(const std::string& text) const {
  Statement q(db_->handle(), "SELECT 1 FROM texts WHERE text = ?");
  q.bind(1, text);
  return q.step();
}

std::optional<std::string> Catalog::text(int64_t id) const {
  Statement q(db_->handle(), "SELECT text FROM texts WHERE id = ?");
  q.bind(1, id);
  if (q.step()) return q.text(0);
  return std::nullopt;
}

void Catalog::for_each_text_embedding(const std::function<void(int64_t, std::span<const float>)>& fn) const {
  Statement s(db_->handle(), "SELECT id, embedding FROM texts ORDER BY id");
  while (s.step()) {
    const auto v = s.floats(1);
    fn(s.i64(0), v);
  }
}

int64_t Catalog::content_count() const {
  Statement c(db_->handle(), "SELECT COUNT(*) FROM contents");
  c.step();
  return c.i64(0);
}

CatalogStats Catalog::stats() const {
  CatalogStats st;
  Statement f(db_->handle(), "SELECT COUNT(*), COALESCE(SUM(status = 'failed'), 0) FROM files");
  f.step();
  st.files = f.i64(0);
  st.failed = f.i64(1);
  Statement c(db_->handle(), "SELECT (SELECT COUNT(*) FROM contents), (SELECT COUNT(*) FROM texts)");
  c.step();
  st.contents = c.i64(0);
  st.texts = c.i64(1);
  return st;
}

}  // namespace clipdex::store
