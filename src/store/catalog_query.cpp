// The catalog's read side for searches: which contents pass a filter, and what results show of
// many contents at once (one prepared statement reused, not three prepared per hit). No explicit
// transaction: searches share the connection, and SQLite refuses nested BEGINs.
#include <algorithm>
#include <chrono>
#include <filesystem>

#include "store/catalog.h"
#include "store/sql.h"

namespace clipdex::store {
namespace {

// "(a OR b ...)" over one kind of condition, with its values appended to `binds`.
template <typename Each>
std::string any_of(const std::vector<std::string>& values, std::vector<std::string>& binds, Each each) {
  std::string sql = "(";
  for (size_t i = 0; i < values.size(); ++i) sql += (i ? " OR " : "") + each(values[i], binds);
  return sql + ")";
}

// files.mtime_ns counts std::filesystem's clock (libstdc++: from 2174-01-01), as the scan read
// it; adding this gives nanoseconds since 1970.
int64_t file_clock_to_unix_ns() {
  using namespace std::chrono;
  const auto zero = std::filesystem::file_time_type{};
  return duration_cast<nanoseconds>(file_clock::to_sys(zero).time_since_epoch()).count();
}

// SQLite's GLOB ('*', '?', '[...]' with '^' negating; case-sensitive) as an anchored POSIX
// regular expression, for PostgreSQL, which has no GLOB.
std::string glob_to_regex(const std::string& glob) {
  std::string re = "^";
  for (size_t i = 0; i < glob.size(); ++i) {
    const char c = glob[i];
    if (c == '*') {
      re += ".*";
    } else if (c == '?') {
      re += '.';
    } else if (c == '[') {
      // A ']' right after '[' or "[^" is a member; a '[' never closed is literal.
      const size_t first = i + 1 + (i + 1 < glob.size() && glob[i + 1] == '^');
      const size_t end = glob.find(']', first + 1);
      if (end == std::string::npos) {
        re += "\\[";
        continue;
      }
      std::string set = glob.substr(i + 1, end - i - 1);
      for (size_t k = 0; k < set.size(); ++k)
        if (set[k] == '\\') set.insert(k++, 1, '\\');
      re += "[" + set + "]";
      i = end;
    } else {
      if (std::string_view("\\.^$|()[]{}+").find(c) != std::string_view::npos) re += '\\';
      re += c;
    }
  }
  return re + "$";
}

}  // namespace

int64_t file_mtime_seconds(int64_t mtime_ns) { return (mtime_ns + file_clock_to_unix_ns()) / 1'000'000'000; }

std::vector<int64_t> Catalog::contents_matching(const ContentFilter& f) const {
  std::vector<std::string> text_binds;  // bound in order as TEXT, then the integers
  std::vector<std::string> where{"f.status = 'indexed'"};
  if (!f.folders.empty())
    where.push_back(any_of(f.folders, text_binds, [](const std::string& dir, std::vector<std::string>& b) {
      // Under dir: paths from "dir/" up to (not including) "dir0" ('0' follows '/'), which the
      // primary key's index answers without a scan.
      std::string d = dir;
      while (d.size() > 1 && d.back() == '/') d.pop_back();
      b.push_back(d + "/");
      b.push_back(d + "0");
      return std::string("(f.path >= ? AND f.path < ?)");
    }));
  if (!f.path_globs.empty()) {
    const bool postgres = db_->engine() == Engine::PostgreSQL;
    where.push_back(any_of(f.path_globs, text_binds, [&](const std::string& g, std::vector<std::string>& b) {
      b.push_back(postgres ? glob_to_regex(g) : g);
      return std::string(postgres ? "f.path ~ ?" : "f.path GLOB ?");
    }));
  }
  if (!f.formats.empty())
    where.push_back(any_of(f.formats, text_binds, [](const std::string& fmt, std::vector<std::string>& b) {
      b.push_back(fmt);
      return std::string("c.format = ?");
    }));
  std::vector<int64_t> int_binds;
  const std::string date =
      "COALESCE(c.taken_at, (f.mtime_ns + " + std::to_string(file_clock_to_unix_ns()) + ") / 1000000000)";
  if (f.date_from) {
    where.push_back(date + " >= ?");
    int_binds.push_back(*f.date_from);
  }
  if (f.date_to) {
    where.push_back(date + " <= ?");
    int_binds.push_back(*f.date_to);
  }
  if (f.min_width > 0) {
    where.push_back("c.width >= ?");
    int_binds.push_back(f.min_width);
  }
  if (f.min_height > 0) {
    where.push_back("c.height >= ?");
    int_binds.push_back(f.min_height);
  }
  std::string sql = "SELECT DISTINCT c.id FROM files f JOIN contents c ON c.id = f.content_id WHERE ";
  for (size_t i = 0; i < where.size(); ++i) sql += (i ? " AND " : "") + where[i];
  sql += " ORDER BY c.id";
  Statement s(*db_, sql.c_str());
  int i = 1;
  for (const auto& t : text_binds) s.bind(i++, t);
  for (int64_t v : int_binds) s.bind(i++, v);
  std::vector<int64_t> out;
  while (s.step()) out.push_back(s.i64(0));
  return out;
}

std::unordered_map<int64_t, ContentSummary> Catalog::summaries(const std::vector<int64_t>& ids) const {
  std::unordered_map<int64_t, ContentSummary> out;
  Statement s(*db_,
              "SELECT c.width, c.height, COALESCE(c.format, ''), c.taken_at, COALESCE(c.camera_make, ''), "
              "COALESCE(c.camera_model, ''), f.path, f.mtime_ns FROM contents c JOIN files f ON f.content_id = c.id "
              "WHERE c.id = ? ORDER BY f.path");
  for (int64_t id : ids) {
    s.bind(1, id);
    while (s.step()) {
      auto [it, first] = out.try_emplace(id);
      ContentSummary& r = it->second;
      if (first) {
        r.width = static_cast<int>(s.i64(0));
        r.height = static_cast<int>(s.i64(1));
        r.metadata.format = s.text(2);
        if (!s.is_null(3)) r.metadata.taken_at = s.i64(3);
        r.metadata.camera_make = s.text(4);
        r.metadata.camera_model = s.text(5);
        r.date = r.metadata.taken_at ? *r.metadata.taken_at : file_mtime_seconds(s.i64(7));
      }
      r.paths.push_back(s.text(6));
    }
    s.reset();
  }
  return out;
}

std::unordered_map<int64_t, std::vector<float>> Catalog::embeddings(const std::vector<int64_t>& ids) const {
  // Up to 256 ids a query: one round trip each, not one per id (a PostgreSQL server may be far).
  constexpr size_t kPerQuery = 256;
  std::unordered_map<int64_t, std::vector<float>> out;
  for (size_t first = 0; first < ids.size(); first += kPerQuery) {
    const size_t n = std::min(kPerQuery, ids.size() - first);
    std::string sql = "SELECT id, embedding FROM contents WHERE id IN (";
    for (size_t i = 0; i < n; ++i) sql += i ? ",?" : "?";
    Statement s(*db_, sql + ")");
    for (size_t i = 0; i < n; ++i) s.bind(static_cast<int>(i + 1), ids[first + i]);
    while (s.step()) out.emplace(s.i64(0), s.floats(1));
  }
  return out;
}

}  // namespace clipdex::store
