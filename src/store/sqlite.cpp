// store::Database over SQLite: a file in WAL mode, one connection shared by the process's
// threads (SQLITE_OPEN_FULLMUTEX), a 10 s busy timeout for other processes' write transactions.
#include <sqlite3.h>

#include <cstring>

#include "core/error.h"
#include "store/engines.h"

namespace clipdex::store {
namespace {

class SqliteStatement final : public StatementImpl {
 public:
  SqliteStatement(sqlite3* db, const char* sql) : db_(db), sql_(sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK)
      throw_io("SQLite: cannot prepare '{}': {}", sql, sqlite3_errmsg(db));
  }
  ~SqliteStatement() override { sqlite3_finalize(stmt_); }

  void bind(int i, int64_t v) override { sqlite3_bind_int64(stmt_, i, v); }
  void bind(int i, double v) override { sqlite3_bind_double(stmt_, i, v); }
  void bind(int i, const std::string& v) override {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void bind(int i, std::span<const float> v) override {
    sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size_bytes()), SQLITE_TRANSIENT);
  }
  void bind_null(int i) override { sqlite3_bind_null(stmt_, i); }

  bool step() override {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    const std::string msg = sqlite3_errmsg(db_);
    sqlite3_reset(stmt_);
    throw_io("SQLite: '{}' failed: {}", sql_, msg);
  }
  void reset() override {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  int64_t i64(int col) const override { return sqlite3_column_int64(stmt_, col); }
  double f64(int col) const override { return sqlite3_column_double(stmt_, col); }
  bool is_null(int col) const override { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string text(int col) const override {
    const auto* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
             : "";
  }
  std::vector<float> floats(int col) const override {
    const void* p = sqlite3_column_blob(stmt_, col);
    const size_t n = static_cast<size_t>(sqlite3_column_bytes(stmt_, col)) / sizeof(float);
    std::vector<float> v(n);
    if (n) std::memcpy(v.data(), p, n * sizeof(float));
    return v;
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string sql_;
};

class SqliteDatabase final : public Database {
 public:
  explicit SqliteDatabase(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
      const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw_io("cannot open database '{}': {}", path, msg);
    }
    sqlite3_busy_timeout(db_, 10000);
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=NORMAL");
    exec("PRAGMA foreign_keys=ON");
  }
  ~SqliteDatabase() override { sqlite3_close(db_); }

  Engine engine() const override { return Engine::SQLite; }
  void exec(const char* sql) override {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      const std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      throw_io("SQLite: '{}' failed: {}", sql, msg);
    }
  }
  std::unique_ptr<StatementImpl> prepare(const char* sql) override { return std::make_unique<SqliteStatement>(db_, sql); }
  void begin(bool write) override { exec(write ? "BEGIN IMMEDIATE" : "BEGIN"); }
  void commit() override { exec("COMMIT"); }
  void rollback() noexcept override {
    char* err = nullptr;
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, &err);
    sqlite3_free(err);
  }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace

std::unique_ptr<Database> open_sqlite(const std::string& path) { return std::make_unique<SqliteDatabase>(path); }

}  // namespace clipdex::store
