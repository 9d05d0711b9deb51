// A library written by the previous release (catalog schema 2, tests/data/library_v2.sql: the
// fixture photos indexed with vit-tiny) opens, migrates in place and gains metadata without
// re-embedding anything: same vectors, same answers, and the new filters work on it.
#include <sqlite3.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/mapped_file.h"
#include "store/catalog.h"
#include "test_util.h"

using namespace clipdex;
namespace fs = std::filesystem;

namespace {

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size()) s.replace(p, from.size(), to);
}

// Runs SQL on a database file with SQLite itself (not clipdex's catalog code).
void run_sql(const std::string& db, const std::string& sql, const std::function<void(sqlite3_stmt*)>& row = {}) {
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  if (!row) {
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
  } else {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) row(st);
    sqlite3_finalize(st);
  }
  sqlite3_close(h);
}

std::map<int64_t, std::string> embeddings_by_id(const std::string& db) {
  std::map<int64_t, std::string> out;
  run_sql(db, "SELECT id, embedding FROM contents", [&](sqlite3_stmt* st) {
    out[sqlite3_column_int64(st, 0)] = std::string(static_cast<const char*>(sqlite3_column_blob(st, 1)),
                                                   static_cast<size_t>(sqlite3_column_bytes(st, 1)));
  });
  return out;
}

}  // namespace

TEST(Upgrade, VersionTwoLibraryMigratesWithoutReembedding) {
  const std::string dir = test::scratch_dir("upgrade_v2");
  const std::string photos = dir + "/photos";
  fs::create_directories(photos);
  for (const auto& f : test::fixture_image_files()) fs::copy_file(test::shared_path("fixtures/images/" + f), photos + "/" + f);
  const std::string model = test::shared_path("fixtures/models/vit-tiny");
  const std::string vocab = test::shared_path("clip/bpe_simple_vocab_16e6.txt.gz");
  std::string sql = read_file(std::string(CLIPDEX_SOURCE_DIR) + "/tests/data/library_v2.sql");
  replace_all(sql, "@PHOTOS@", fs::canonical(photos).string());
  replace_all(sql, "@MODEL@", model);
  replace_all(sql, "@VOCAB@", vocab);
  const std::string db = dir + "/lib.db";
  run_sql(db, sql);
  // The files are the ones that were indexed: give them the recorded size and time.
  run_sql(db, "SELECT path, mtime_ns FROM files", [&](sqlite3_stmt* st) {
    const std::string path = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    const int64_t ns = sqlite3_column_int64(st, 1) + store::file_mtime_seconds(0) * 1'000'000'000;
    const struct timespec t[2] = {{ns / 1'000'000'000, ns % 1'000'000'000}, {ns / 1'000'000'000, ns % 1'000'000'000}};
    ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), t, 0), 0) << path;
  });
  const auto before = embeddings_by_id(db);
  ASSERT_EQ(before.size(), 8u);

  // A rerun of the same folder: nothing embedded, metadata read from the files.
  const std::string common = " --db " + db + " --model " + model + " --vocab " + vocab + " --precision fp32";
  const auto r = test::run_cli("index " + photos + " --quiet" + common);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("0 embedded"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("8 unchanged"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("read date, format and camera of 8 images"), std::string::npos) << r.out;
  EXPECT_EQ(embeddings_by_id(db), before);
  {
    store::Catalog catalog(db);
    EXPECT_EQ(catalog.meta("schema_version"), "3");
    EXPECT_EQ(catalog.stats().texts, 2);
    for (const auto& [id, blob] : before) {
      const auto c = catalog.content(id);
      ASSERT_TRUE(c);
      const bool jpeg = catalog.paths_of(id).front().ends_with(".jpg");
      EXPECT_EQ(c->metadata.format, jpeg ? "jpeg" : "png") << id;
    }
  }
  // The old vectors answer queries, and the new filters apply to them.
  const auto all = nlohmann::json::parse(test::run_cli("search 'a photo of a rocket' --json -k 8" + common).out)["results"];
  EXPECT_EQ(all.size(), 8u);
  const auto jpeg = nlohmann::json::parse(test::run_cli("search 'a photo of a rocket' --json --format jpeg" + common).out)["results"];
  ASSERT_EQ(jpeg.size(), 1u);
  EXPECT_EQ(fs::path(jpeg[0]["path"].get<std::string>()).filename(), "rocket.jpg");
  // A second run has nothing left to fill in.
  const auto again = test::run_cli("index " + photos + " --quiet" + common);
  EXPECT_EQ(again.out.find("read date"), std::string::npos) << again.out;
}

TEST(Upgrade, LibraryFromANewerClipdexIsRefused) {
  const std::string dir = test::scratch_dir("upgrade_newer");
  { store::Catalog c(dir + "/lib.db"); }
  run_sql(dir + "/lib.db", "UPDATE meta SET value = '99' WHERE key = 'schema_version'");
  EXPECT_THROW(store::Catalog(dir + "/lib.db"), std::exception);
  const auto r = test::run_cli("search x --db " + dir + "/lib.db");
  EXPECT_NE(r.exit_code, 0);
}
