#pragma once
// Thin RAII wrappers over the SQLite C API: a connection, prepared statements with typed binds,
// and a transaction guard that rolls back unless committed. Errors throw IoError with the SQL.
#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace clipdex::store {

class Statement {
 public:
  Statement(sqlite3* db, const char* sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int i, int64_t v);
  Statement& bind(int i, double v);
  Statement& bind(int i, const std::string& v);
  Statement& bind(int i, std::span<const float> v);  // as a BLOB
  Statement& bind_null(int i);

  bool step();  // true while a row is available
  void run();   // step to completion, then reset for reuse
  void reset();

  int64_t i64(int col) const;
  double f64(int col) const;
  std::string text(int col) const;
  std::vector<float> floats(int col) const;
  bool is_null(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string sql_;
};

class Database {
 public:
  explicit Database(const std::string& path);  // creates the file when missing; WAL mode
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void exec(const char* sql);
  sqlite3* handle() const { return db_; }
  int64_t last_insert_id() const { return sqlite3_last_insert_rowid(db_); }

 private:
  sqlite3* db_ = nullptr;
};

class Transaction {
 public:
  // A write transaction takes SQLite's write lock at once (BEGIN IMMEDIATE); a read one is a
  // snapshot: every statement inside sees the same committed state.
  explicit Transaction(Database& db, bool write = true);
  ~Transaction();  // rolls back unless committed
  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

}  // namespace clipdex::store
