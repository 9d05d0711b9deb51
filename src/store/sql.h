#pragma once
// The SQL layer the catalog is written against: a connection, prepared statements with typed
// binds ('?' placeholders), and a transaction guard that rolls back unless committed. Two
// engines implement it — SQLite (a file; the embedded default) and PostgreSQL (a server named by
// a postgresql:// URL) — so the catalog's queries are written once. Errors throw IoError with the SQL.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace clipdex::store {

enum class Engine { SQLite, PostgreSQL };

// True for "postgresql://..." and "postgres://..." (libpq's URI forms).
bool is_database_url(const std::string& location);
// The location as it may be shown (messages, logs): a URL's password replaced by "***".
std::string without_password(const std::string& location);

// One engine's prepared statement. Rows are read after step() returns true.
class StatementImpl {
 public:
  virtual ~StatementImpl() = default;
  virtual void bind(int i, int64_t v) = 0;
  virtual void bind(int i, double v) = 0;
  virtual void bind(int i, const std::string& v) = 0;
  virtual void bind(int i, std::span<const float> v) = 0;  // a vector column (BLOB / halfvec)
  virtual void bind_null(int i) = 0;
  virtual bool step() = 0;
  virtual void reset() = 0;  // ready to run again; bindings cleared
  virtual int64_t i64(int col) const = 0;
  virtual double f64(int col) const = 0;
  virtual std::string text(int col) const = 0;
  virtual std::vector<float> floats(int col) const = 0;
  virtual bool is_null(int col) const = 0;
};

class Database {
 public:
  virtual ~Database() = default;
  virtual Engine engine() const = 0;
  // Runs one or more statements without parameters.
  virtual void exec(const char* sql) = 0;
  virtual std::unique_ptr<StatementImpl> prepare(const char* sql) = 0;
  // A write transaction excludes every other writer of the database from its start (SQLite's
  // BEGIN IMMEDIATE; on PostgreSQL a transaction-scoped advisory lock taken by every writer), so
  // read-then-write steps inside it see no interleaved change. A read one is a snapshot.
  virtual void begin(bool write) = 0;
  virtual void commit() = 0;
  virtual void rollback() noexcept = 0;
};

// Opens a SQLite file (created when missing; WAL mode) or connects to a PostgreSQL URL.
std::unique_ptr<Database> open_database(const std::string& location);

class Statement {
 public:
  Statement(Database& db, const char* sql) : impl_(db.prepare(sql)) {}
  Statement(Database& db, const std::string& sql) : Statement(db, sql.c_str()) {}

  Statement& bind(int i, int64_t v) { return impl_->bind(i, v), *this; }
  Statement& bind(int i, double v) { return impl_->bind(i, v), *this; }
  Statement& bind(int i, const std::string& v) { return impl_->bind(i, v), *this; }
  Statement& bind(int i, std::span<const float> v) { return impl_->bind(i, v), *this; }
  Statement& bind_null(int i) { return impl_->bind_null(i), *this; }

  bool step() { return impl_->step(); }  // true while a row is available
  void run() {                           // step to completion, then reset for reuse
    while (step()) {
    }
    reset();
  }
  void reset() { impl_->reset(); }

  int64_t i64(int col) const { return impl_->i64(col); }
  double f64(int col) const { return impl_->f64(col); }
  std::string text(int col) const { return impl_->text(col); }
  std::vector<float> floats(int col) const { return impl_->floats(col); }
  bool is_null(int col) const { return impl_->is_null(col); }

 private:
  std::unique_ptr<StatementImpl> impl_;
};

class Transaction {
 public:
  explicit Transaction(Database& db, bool write = true) : db_(db) { db_.begin(write); }
  ~Transaction() {
    if (!done_) db_.rollback();
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit() {
    db_.commit();
    done_ = true;
  }

 private:
  Database& db_;
  bool done_ = false;
};

}  // namespace clipdex::store
