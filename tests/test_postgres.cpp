// The PostgreSQL + pgvector library against a real server (docs/SCALE.md). These tests run when
// CLIPDEX_TEST_POSTGRES names a server (a postgresql:// URL whose user may create databases;
// .ci/run starts one with scripts/pg-test-server.sh) and are skipped without it. Each test works
// in a database of its own, made afresh.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pipeline/library.h"
#include "store/pgvector_index.h"
#include "store/sql.h"
#include "test_scenarios.h"
#include "test_util.h"

using namespace clipdex;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::optional<std::string> server_url() {
  const char* url = std::getenv("CLIPDEX_TEST_POSTGRES");
  if (!url || !*url) return std::nullopt;
  return std::string(url);
}

// `url` with its database name replaced.
std::string with_database(const std::string& url, const std::string& name) {
  const size_t slash = url.find('/', url.find("://") + 3);
  const size_t query = url.find('?', slash == std::string::npos ? 0 : slash);
  const std::string base = slash == std::string::npos ? url.substr(0, query) : url.substr(0, slash);
  return base + "/" + name + (query == std::string::npos ? "" : url.substr(query));
}

// A new empty database on the test server (dropped first if a previous run left it).
std::string fresh_database(const std::string& server, const std::string& name) {
  const std::string db = "clipdex_" + name + "_" + std::to_string(::getpid());
  auto admin = store::open_database(server);
  admin->exec(("DROP DATABASE IF EXISTS " + db + " WITH (FORCE)").c_str());
  admin->exec(("CREATE DATABASE " + db).c_str());
  return with_database(server, db);
}

#define POSTGRES_OR_SKIP(url)                                                                       \
  const auto url##_server = server_url();                                                           \
  if (!url##_server) GTEST_SKIP() << "CLIPDEX_TEST_POSTGRES is not set (no PostgreSQL server to test)"; \
  const std::string& url = *url##_server

const std::string kModel = " --precision fp32 --quiet --model ";

std::string index_args(const std::string& folder, const std::string& db, const std::string& extra = "") {
  return "index " + folder + " --db " + db + extra + kModel + test::shared_path("fixtures/models/vit-tiny/hf");
}

json search(const std::string& db, const std::string& args) {
  const auto r = test::run_cli("search --json --db " + db + " " + args);
  EXPECT_EQ(r.exit_code, 0) << args;
  return json::parse(r.out.empty() ? "{}" : r.out)["results"];
}

// Same paths in the same order, scores within 1e-3 (PostgreSQL stores vectors as halfvec).
void expect_same_results(const json& want, const json& got, const std::string& what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(want[i]["paths"], got[i]["paths"]) << what << " #" << i;
    EXPECT_NEAR(want[i]["score"].get<double>(), got[i]["score"].get<double>(), 1e-3) << what << " #" << i;
  }
}

// The same files with the same contents; embeddings within halfvec's rounding.
void expect_same_library(const std::string& want_db, const std::string& got_db) {
  const auto want = test::library_files(want_db), got = test::library_files(got_db);
  ASSERT_EQ(want.size(), got.size());
  for (const auto& [path, v] : want) {
    ASSERT_TRUE(got.count(path)) << path;
    EXPECT_EQ(got.at(path).first, v.first) << path;
    ASSERT_EQ(got.at(path).second.size(), v.second.size()) << path;
    for (size_t k = 0; k < v.second.size(); ++k) EXPECT_NEAR(got.at(path).second[k], v.second[k], 1e-3) << path;
  }
}

// No content twice, none without a file, and the counts the library reports agree.
void expect_consistent(const std::string& db, size_t files) {
  pipeline::Library lib(db, pipeline::Library::Open::Existing);
  const auto all = lib.catalog().files();
  EXPECT_EQ(all.size(), files);
  std::set<int64_t> used;
  for (const auto& [path, rec] : all) used.insert(rec.content_id);
  std::set<std::string> hashes;
  int64_t contents = 0;
  lib.catalog().for_each_embedding([&](int64_t id, std::span<const float>) {
    ++contents;
    EXPECT_TRUE(used.count(id)) << "content " << id << " has no file";
    EXPECT_TRUE(hashes.insert(lib.catalog().content(id)->hash).second) << "content " << id << " stored twice";
  });
  EXPECT_EQ(static_cast<size_t>(contents), used.size());
  EXPECT_EQ(lib.catalog().stats().contents, contents);
}

}  // namespace

// The fixture library in PostgreSQL answers every kind of search as SQLite + FAISS flat does:
// the same images in the same order, scores within 1e-3; with an HNSW index too.
TEST(Postgres, SearchesLikeSqliteAndFaiss) {
  POSTGRES_OR_SKIP(server);
  const std::string url = fresh_database(server, "same");
  const std::string dir = test::scratch_dir("pg-same");
  const std::string photos = test::copy_fixture_photos(dir);
  const std::string sqlite = dir + "/lib.db";
  ASSERT_EQ(test::run_cli(index_args(photos, sqlite)).exit_code, 0);
  ASSERT_EQ(test::run_cli(index_args(photos, url)).exit_code, 0);
  expect_same_library(sqlite, url);

  const std::vector<std::string> queries = {
      "'a photo of a rocket' -k 8",
      "'a cat' -k 3 --offset 2",
      "'a cup of coffee' -k 8 --path '*/b/*/[a-c]*'",
      "'a camera' -k 8 --folder " + photos + "/a",
      "'a rocket' -k 8 --format jpeg",
      "--like " + photos + "/a/rocket.jpg -k 5",
      "--image " + test::shared_path("fixtures/images/chelsea.png") + " -k 4 --min-score 0.5",
  };
  for (const auto& type : {"flat", "hnsw"}) {
    ASSERT_EQ(test::run_cli(index_args(photos, sqlite, std::string(" --index-type ") + type)).exit_code, 0);
    ASSERT_EQ(test::run_cli(index_args(photos, url, std::string(" --index-type ") + type)).exit_code, 0);
    for (const auto& q : queries) {
      const auto want = search(sqlite, q);
      EXPECT_FALSE(want.empty()) << q;
      expect_same_results(want, search(url, q), std::string(type) + ": " + q);
    }
  }
  // Near-duplicate groups (every stored vector read back and searched): the same groups. Their
  // members are listed by closeness, which near-ties may order differently: compared as sets.
  const auto groups = [](const std::string& db) {
    const auto r = test::run_cli("duplicates --json --threshold 0.8 --db " + db);
    EXPECT_EQ(r.exit_code, 0);
    std::set<std::set<std::string>> out;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
      std::set<std::string> members;
      const auto group = json::parse(line);  // held: a range-for over a temporary's member dangles
      for (const auto& image : group["images"]) members.insert(image["path"].get<std::string>());
      out.insert(members);
    }
    return out;
  };
  const auto want_groups = groups(sqlite);
  EXPECT_FALSE(want_groups.empty());
  EXPECT_EQ(groups(url), want_groups);
}

// The HNSW index is made with the parameters asked for, and made again only when they change:
// an explicit ef_construction rebuilds it, the same settings again leave it alone.
TEST(Postgres, HnswIndexFollowsItsParameters) {
  POSTGRES_OR_SKIP(server);
  const std::string url = fresh_database(server, "hnsw_params");
  const std::string dir = test::scratch_dir("pg-hnsw-params");
  test::make_images(dir + "/photos", 0, 6);
  ASSERT_EQ(test::run_cli(index_args(dir + "/photos", url, " --index-type hnsw")).exit_code, 0);
  pipeline::Library lib(url, pipeline::Library::Open::Existing);
  int dim = 0;
  lib.catalog().for_each_embedding([&](int64_t, std::span<const float> v) { dim = static_cast<int>(v.size()); });
  ASSERT_GT(dim, 0);
  auto observer = store::open_database(url);
  const auto index = [&] {  // the index's definition and its object id
    store::Statement s(*observer,
                       "SELECT pg_get_indexdef(c.oid), c.oid::bigint FROM pg_class c WHERE c.relname = "
                       "'contents_embedding_hnsw'");
    return s.step() ? std::make_pair(s.text(0), s.i64(1)) : std::make_pair(std::string(), int64_t{-1});
  };
  const auto first = index();
  EXPECT_NE(first.first.find("m='32'"), std::string::npos) << first.first;
  EXPECT_NE(first.first.find("ef_construction='64'"), std::string::npos) << first.first;

  index::IndexParams params;
  params.type = index::IndexType::HNSW;
  params.hnsw_ef_construction = 80;
  store::ensure_pgvector_index(lib.catalog(), params, dim);
  const auto asked = index();
  EXPECT_NE(asked.first.find("ef_construction='80'"), std::string::npos) << asked.first;
  EXPECT_NE(asked.second, first.second);
  store::ensure_pgvector_index(lib.catalog(), params, dim);
  EXPECT_EQ(index().second, asked.second);  // unchanged settings: the same index
  params.hnsw_ef_construction = 0;
  store::ensure_pgvector_index(lib.catalog(), params, dim);
  EXPECT_NE(index().first.find("ef_construction='64'"), std::string::npos);
}

// Indexers on one database at once: two over the same folder, then three shards; each ends as
// the library one process makes, with no file or image twice.
TEST(Postgres, ConcurrentIndexersAndShards) {
  POSTGRES_OR_SKIP(server);
  const std::string dir = test::scratch_dir("pg-concurrent");
  test::make_images(dir + "/photos", 0, 40);
  const std::string sqlite = dir + "/lib.db";
  ASSERT_EQ(test::run_cli(index_args(dir + "/photos", sqlite)).exit_code, 0);

  const std::string both = fresh_database(server, "both");
  {
    test::Process a(index_args(dir + "/photos", both, " --batch 4")), b(index_args(dir + "/photos", both, " --batch 4"));
    EXPECT_EQ(a.stop(0, 300), 0) << a.stderr_text();
    EXPECT_EQ(b.stop(0, 300), 0) << b.stderr_text();
  }
  expect_consistent(both, 40);
  expect_same_library(sqlite, both);

  const std::string sharded = fresh_database(server, "shards");
  {
    std::vector<std::unique_ptr<test::Process>> parts;
    for (int i = 0; i < 3; ++i)
      parts.push_back(std::make_unique<test::Process>(
          index_args(dir + "/photos", sharded, " --batch 4 --shard " + std::to_string(i) + "/3")));
    for (auto& p : parts) EXPECT_EQ(p->stop(0, 300), 0) << p->stderr_text();
  }
  expect_consistent(sharded, 40);
  expect_same_library(sqlite, sharded);
  // Copies of one picture tie, and tied images come in id order, which differs with the order
  // the parts committed: every image's score is compared instead.
  const auto scores = [&](const std::string& db) {
    std::map<std::string, double> out;
    for (const auto& r : search(db, "'a photo of a cat' -k 40")) out[r["path"]] = r["score"];
    return out;
  };
  const auto want = scores(sqlite), got = scores(sharded);
  ASSERT_EQ(want.size(), 40u);
  ASSERT_EQ(got.size(), 40u);
  for (const auto& [path, score] : want) {
    ASSERT_TRUE(got.count(path)) << path;
    EXPECT_NEAR(got.at(path), score, 1e-3) << path;
  }
}

// An indexer killed with SIGKILL inside its write transaction leaves nothing of it behind; a
// rerun completes the library.
TEST(Postgres, IndexerKilledMidTransaction) {
  POSTGRES_OR_SKIP(server);
  const std::string url = fresh_database(server, "killed");
  const std::string dir = test::scratch_dir("pg-killed");
  test::make_images(dir + "/photos", 0, 24);
  { pipeline::Library make_schema(url); }

  // Hold the catalog's generation row: the indexer's first commit stops inside its transaction,
  // its files and vectors written but not committed.
  auto blocker = store::open_database(url);
  blocker->exec("BEGIN");
  blocker->exec("INSERT INTO meta(key, value) VALUES('generation', '0') ON CONFLICT(key) DO UPDATE SET value = meta.value");
  auto observer = store::open_database(url);
  const auto count = [&](const char* sql) {
    store::Statement s(*observer, sql);
    s.step();
    return s.i64(0);
  };
  test::Process indexer(index_args(dir + "/photos", url, " --batch 8"));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (count("SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()") == 0) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the indexer never reached its commit";
    ASSERT_EQ(indexer.stop(0, 0.05), -1) << "the indexer ended: " << indexer.stderr_text();
  }
  EXPECT_EQ(indexer.stop(SIGKILL, 30), 128 + SIGKILL);
  blocker->exec("ROLLBACK");
  // The server notices the lost client once its statement ends, and rolls the transaction back.
  while (count("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
               "AND backend_type = 'client backend' AND state <> 'idle'") > 0) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM files"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM contents"), 0);

  const auto rerun = test::run_cli(index_args(dir + "/photos", url));
  EXPECT_EQ(rerun.exit_code, 0);
  expect_consistent(url, 24);
  const std::string sqlite = dir + "/lib.db";
  ASSERT_EQ(test::run_cli(index_args(dir + "/photos", sqlite)).exit_code, 0);
  expect_same_library(sqlite, url);
}

// Two `serve` processes over one database answer alike, and both see what an indexer adds
// afterwards without a restart.
TEST(Postgres, TwoServeReplicas) {
  POSTGRES_OR_SKIP(server);
  const std::string url = fresh_database(server, "serve");
  const std::string dir = test::scratch_dir("pg-serve");
  test::make_images(dir + "/photos", 0, 8);
  ASSERT_EQ(test::run_cli(index_args(dir + "/photos", url)).exit_code, 0);
  test::Serve a(url, "--precision fp32"), b(url, "--precision fp32");
  ASSERT_GT(a.port, 0) << a.stderr_text();
  ASSERT_GT(b.port, 0) << b.stderr_text();
  const auto get = [](const test::Serve& s, const std::string& path) {
    const auto r = s.client().Get(path);
    EXPECT_TRUE(r && r->status == 200) << path;
    return r ? json::parse(r->body) : json();
  };
  const std::string query = "/api/v1/search?q=a%20photo%20of%20a%20rocket&k=20";
  EXPECT_EQ(get(a, "/api/v1/stats")["images"], 8);
  EXPECT_EQ(get(a, query)["results"], get(b, query)["results"]);

  test::make_images(dir + "/photos", 8, 5);
  ASSERT_EQ(test::run_cli(index_args(dir + "/photos", url)).exit_code, 0);
  EXPECT_EQ(get(a, "/api/v1/stats")["images"], 13);
  EXPECT_EQ(get(b, "/api/v1/stats")["images"], 13);
  const auto results = get(a, query)["results"];
  EXPECT_EQ(results.size(), 13u);
  EXPECT_EQ(results, get(b, query)["results"]);
  // Thumbnails are cached under the user's cache folder, not in a folder named after the URL.
  const auto thumb = b.client().Get("/thumbs/" + std::to_string(results[0]["id"].get<int64_t>()));
  EXPECT_TRUE(thumb && thumb->status == 200);
  EXPECT_FALSE(fs::exists("postgresql:"));
}

TEST(PostgresUrl, PasswordsAreNeverShown) {
  EXPECT_EQ(store::without_password("postgresql://ann:s3cret@db.lan:5432/photos"), "postgresql://ann:***@db.lan:5432/photos");
  EXPECT_EQ(store::without_password("postgres://db.lan/photos?user=ann&password=s3cret&sslmode=require"),
            "postgres://db.lan/photos?user=ann&password=***&sslmode=require");
  EXPECT_EQ(store::without_password("postgresql://ann@db.lan/photos"), "postgresql://ann@db.lan/photos");
  EXPECT_EQ(store::without_password("/photos/lib.db"), "/photos/lib.db");
  // What the CLI prints about a library it cannot open names it without the password.
  const auto r = test::run_cli("search --db postgresql://ann:s3cret@127.0.0.1:9/photos x 2>&1");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out.find("s3cret"), std::string::npos) << r.out;
}

// Re-embedding a PostgreSQL library under another model swaps every vector (and the HNSW index
// built for the old ones) in one step: it then searches as a library made with the new model.
TEST(Postgres, ReembedsUnderAnotherModel) {
  POSTGRES_OR_SKIP(server);
  const std::string url = fresh_database(server, "reembed");
  const std::string dir = test::scratch_dir("pg-reembed");
  const std::string photos = test::copy_fixture_photos(dir);
  ASSERT_EQ(test::run_cli(index_args(photos, url, " --index-type hnsw")).exit_code, 0);
  const std::string resnet = " --precision fp32 --quiet --model " + test::shared_path("fixtures/models/rn-tiny") +
                             " --vocab " + test::shared_path("fixtures/models/vit-tiny/hf");
  const auto r = test::run_cli("index " + photos + " --reembed --db " + url + resnet);
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("re-embedded 8 images"), std::string::npos) << r.out;
  const std::string sqlite = dir + "/resnet.db";
  ASSERT_EQ(test::run_cli("index " + photos + " --db " + sqlite + resnet).exit_code, 0);
  expect_same_library(sqlite, url);
  for (const std::string& q : {std::string("'a photo of a rocket' -k 8"), "--like " + photos + "/a/coffee.png -k 4"})
    expect_same_results(search(sqlite, q), search(url, q), q);
}
