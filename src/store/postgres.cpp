// store::Database over PostgreSQL (libpq). The URL and libpq's usual sources (PG* environment
// variables, ~/.pgpass, service files) say where and who. Statements are run as text-format
// parameterised queries: the catalog's '?' placeholders become $1, $2, ...; vectors travel in
// pgvector's text form "[x,y,...]". One connection per Database, its use serialised by a mutex
// (libpq connections are not thread-safe); a lost connection is re-opened before the next query.
#include <libpq-fe.h>

#include <charconv>
#include <cstdlib>
#include <mutex>

#include <fmt/format.h>

#include "core/error.h"
#include "store/engines.h"

namespace clipdex::store {
namespace {

// Every writer takes this transaction-scoped advisory lock first, so the catalog's
// read-then-write steps never interleave between processes (embedding, the slow part, does not
// hold it). Any constant works as long as every clipdex uses the same one.
constexpr const char* kWriterLock = "SELECT pg_advisory_xact_lock(727368950127)";

// "?" -> "$n" outside quoted strings and identifiers; "$n" already written is kept.
std::string number_placeholders(const char* sql) {
  std::string out;
  int n = 0;
  char quote = 0;
  for (const char* p = sql; *p; ++p) {
    const char c = *p;
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '?') {
      out += fmt::format("${}", ++n);
      continue;
    }
    out += c;
  }
  return out;
}

std::string vector_text(std::span<const float> v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) fmt::format_to(std::back_inserter(s), "{}{}", i ? "," : "", v[i]);
  return s + "]";
}

std::vector<float> parse_vector(const char* s) {
  std::vector<float> out;
  if (*s == '[') ++s;
  while (*s && *s != ']') {
    char* end = nullptr;
    out.push_back(std::strtof(s, &end));
    if (end == s) throw_io("PostgreSQL returned a malformed vector");
    s = end;
    if (*s == ',') ++s;
  }
  return out;
}

class Connection {
 public:
  explicit Connection(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) {
      const std::string msg = conn_ ? PQerrorMessage(conn_) : "out of memory";
      PQfinish(conn_);
      throw_io("cannot connect to PostgreSQL: {}", trim(msg));
    }
    PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);  // "already exists, skipping"
  }
  ~Connection() { PQfinish(conn_); }

  // Runs one query (params may be empty), or the statement prepared as `prepared`; returns its
  // result; throws on failure.
  PGresult* run(const std::string& sql, const std::vector<std::string>& values, const std::vector<bool>& null,
                const std::string& prepared = "") {
    std::lock_guard lock(mu_);
    if (PQstatus(conn_) != CONNECTION_OK && !in_transaction_) {
      PQreset(conn_);
      ++epoch_;  // the server forgot every prepared statement
    }
    std::vector<const char*> params(values.size());
    for (size_t i = 0; i < values.size(); ++i) params[i] = null[i] ? nullptr : values[i].c_str();
    const int n = static_cast<int>(params.size());
    PGresult* r = !prepared.empty() ? PQexecPrepared(conn_, prepared.c_str(), n, params.data(), nullptr, nullptr, 0)
                  : values.empty()  ? PQexec(conn_, sql.c_str())
                                    : PQexecParams(conn_, sql.c_str(), n, nullptr, params.data(), nullptr, nullptr, 0);
    return checked(r, sql);
  }

  // Prepares `sql` under a new name, valid while epoch() stays the same.
  std::string prepare(const std::string& sql) {
    std::lock_guard lock(mu_);
    const std::string name = "clipdex_" + std::to_string(++prepared_);
    PQclear(checked(PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr), sql));
    return name;
  }
  void deallocate(const std::string& name) noexcept {
    std::lock_guard lock(mu_);
    PQclear(PQexec(conn_, ("DEALLOCATE " + name).c_str()));  // fails only in an aborted transaction: then kept
  }
  uint64_t epoch() const { return epoch_; }
  void set_in_transaction(bool on) { in_transaction_ = on; }

 private:
  PGresult* checked(PGresult* r, const std::string& sql) {
    const auto status = PQresultStatus(r);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      const std::string msg = r ? PQresultErrorMessage(r) : PQerrorMessage(conn_);
      PQclear(r);
      throw_io("PostgreSQL: '{}' failed: {}", sql, trim(msg));
    }
    return r;
  }
  static std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }
  PGconn* conn_;
  std::mutex mu_;
  bool in_transaction_ = false;
  uint64_t epoch_ = 0, prepared_ = 0;
};

class PostgresStatement final : public StatementImpl {
 public:
  PostgresStatement(Connection& conn, const char* sql) : conn_(conn), sql_(number_placeholders(sql)) {}
  ~PostgresStatement() override {
    PQclear(result_);
    if (!prepared_.empty() && prepared_epoch_ == conn_.epoch()) conn_.deallocate(prepared_);
  }

  void bind(int i, int64_t v) override { set(i, std::to_string(v)); }
  void bind(int i, double v) override { set(i, fmt::format("{}", v)); }
  void bind(int i, const std::string& v) override { set(i, v); }
  void bind(int i, std::span<const float> v) override { set(i, vector_text(v)); }
  void bind_null(int i) override {
    set(i, "");
    null_[static_cast<size_t>(i - 1)] = true;
  }

  bool step() override {
    if (!result_) {
      // A statement run again (rows of a batch) is prepared once: planned once, not per row.
      if (runs_++ == 1 || (!prepared_.empty() && prepared_epoch_ != conn_.epoch())) {
        prepared_epoch_ = conn_.epoch();
        prepared_ = conn_.prepare(sql_);
      }
      result_ = conn_.run(sql_, values_, null_, prepared_);
      row_ = -1;
    }
    return ++row_ < PQntuples(result_);
  }
  void reset() override {
    PQclear(result_);
    result_ = nullptr;
    values_.clear();
    null_.clear();
  }

  int64_t i64(int col) const override {
    const char* s = value(col);
    int64_t v = 0;
    std::from_chars(s, s + std::char_traits<char>::length(s), v);
    return v;
  }
  double f64(int col) const override { return std::strtod(value(col), nullptr); }
  std::string text(int col) const override {
    return std::string(value(col), static_cast<size_t>(PQgetlength(result_, row_, col)));
  }
  std::vector<float> floats(int col) const override { return parse_vector(value(col)); }
  bool is_null(int col) const override { return PQgetisnull(result_, row_, col) != 0; }

 private:
  void set(int i, std::string v) {
    const auto k = static_cast<size_t>(i - 1);
    if (values_.size() <= k) {
      values_.resize(k + 1);
      null_.resize(k + 1, false);
    }
    values_[k] = std::move(v);
    null_[k] = false;
  }
  const char* value(int col) const { return PQgetvalue(result_, row_, col); }

  Connection& conn_;
  std::string sql_;
  std::vector<std::string> values_;
  std::vector<bool> null_;
  PGresult* result_ = nullptr;
  int row_ = -1;
  int runs_ = 0;
  std::string prepared_;  // the server-side name once prepared
  uint64_t prepared_epoch_ = 0;
};

class PostgresDatabase final : public Database {
 public:
  explicit PostgresDatabase(const std::string& url) : conn_(url) {}

  Engine engine() const override { return Engine::PostgreSQL; }
  void exec(const char* sql) override { PQclear(conn_.run(sql, {}, {})); }
  std::unique_ptr<StatementImpl> prepare(const char* sql) override {
    return std::make_unique<PostgresStatement>(conn_, sql);
  }
  void begin(bool write) override {
    exec(write ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    conn_.set_in_transaction(true);
    if (!write) return;
    try {
      exec(kWriterLock);
    } catch (...) {
      rollback();  // the Transaction was not made, so nothing else would end this one
      throw;
    }
  }
  void commit() override {
    conn_.set_in_transaction(false);
    exec("COMMIT");
  }
  void rollback() noexcept override {
    conn_.set_in_transaction(false);
    try {
      exec("ROLLBACK");
    } catch (const std::exception&) {  // the connection is gone: the server rolled back already
    }
  }

 private:
  Connection conn_;
};

}  // namespace

std::unique_ptr<Database> open_postgres(const std::string& url) { return std::make_unique<PostgresDatabase>(url); }

}  // namespace clipdex::store
