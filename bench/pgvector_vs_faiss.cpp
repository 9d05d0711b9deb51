// A library of N random 512-d unit vectors in PostgreSQL + pgvector (HNSW over halfvec) against
// the same vectors in FAISS HNSW, in one run on one machine: build time, search p50 / p95 over
// single queries, recall@10 against exact search, and storage per vector. Both sides go through
// clipdex's own code: pipeline::Library::apply / rebuild_vectors and the library's vector index
// for PostgreSQL, index::make_faiss_index for FAISS, with clipdex's default parameters (HNSW
// m = 32, ef_search = 128; FAISS efConstruction 80, pgvector ef_construction max(64, 2m)).
// --hnsw-m and --ef-construction set the graph's parameters on both sides: random vectors are
// HNSW's hardest case and the builds grow faster than linearly with them, so smaller ones are what
// lets a million vectors build on a 2-core machine.
//   build/bench/pgvector_vs_faiss --url postgresql://... [--vectors 1000000] [--queries 500]
//                                 [--hnsw-m 32] [--ef-construction N] [--faiss no] [--pg no]
// The URL's database is dropped and made afresh. Give the server room to build the index in
// memory (e.g. ?options=-c%20maintenance_work_mem%3D4GB in the URL).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "index/vector_index.h"
#include "pipeline/library.h"
#include "random_vectors.h"
#include "store/pgvector_index.h"
#include "store/sql.h"

using namespace clipdex;
using bench::Clock;
using bench::seconds_since;
using bench::unit_vectors;

namespace {

constexpr int kDim = 512;
constexpr size_t kK = 10;

struct Measured {
  double p50_ms = 0, p95_ms = 0, recall = 0;
};

// Single-query searches: latency percentiles and recall@10 against `truth`.
template <typename Search>
Measured measure(const std::vector<float>& queries, size_t nq, const std::vector<std::vector<index::Hit>>& truth,
                 Search search) {
  std::vector<double> ms;
  size_t found = 0;
  for (size_t q = 0; q < nq; ++q) {
    const auto t = Clock::now();
    const auto hits = search(&queries[q * kDim]);
    ms.push_back(seconds_since(t) * 1e3);
    for (const auto& h : hits)
      for (const auto& want : truth[q])
        if (h.id == want.id) ++found;
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[ms.size() * 95 / 100], double(found) / double(nq * kK)};
}

std::string with_database(const std::string& url, const std::string& name) {
  const size_t slash = url.find('/', url.find("://") + 3);
  const size_t query = url.find('?', slash);
  return url.substr(0, slash) + "/" + name + (query == std::string::npos ? "" : url.substr(query));
}

int64_t scalar(store::Database& db, const std::string& sql) {
  store::Statement s(db, sql);
  s.step();
  return s.i64(0);
}

}  // namespace

int main(int argc, char** argv) {
  size_t n = 1000000, nq = 500;
  std::string url;
  bool with_faiss = true, with_pg = true;
  index::IndexParams hnsw;
  hnsw.type = index::IndexType::HNSW;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--vectors")) n = std::stoul(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--queries")) nq = std::stoul(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--url")) url = argv[i + 1];
    else if (!std::strcmp(argv[i], "--hnsw-m")) hnsw.hnsw_m = std::stoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--ef-construction")) hnsw.hnsw_ef_construction = std::stoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--faiss")) with_faiss = std::strcmp(argv[i + 1], "no") != 0;
    else if (!std::strcmp(argv[i], "--pg")) with_pg = std::strcmp(argv[i + 1], "no") != 0;
  }
  if (url.empty()) {
    std::fprintf(stderr, "usage: pgvector_vs_faiss --url postgresql://... [--vectors N] [--queries Q]\n");
    return 2;
  }
  const auto vectors = unit_vectors(n, kDim, 1), queries = unit_vectors(nq, kDim, 2);
  std::vector<int64_t> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = static_cast<int64_t>(i + 1);  // the catalog's ids count from 1

  // Exact neighbours (FAISS flat, all queries at once).
  auto t = Clock::now();
  auto flat = index::make_faiss_index(kDim, {}, nullptr, 0);
  flat->add(vectors.data(), ids.data(), n);
  const auto truth = flat->search(queries.data(), nq, kK);
  const auto flat_m = measure(queries, std::min<size_t>(nq, 50), truth, [&](const float* q) { return flat->search(q, 1, kK)[0]; });
  flat.reset();
  std::fprintf(stderr, "exact neighbours: %.1f s\n", seconds_since(t));

  // FAISS HNSW (--faiss no skips it, to time the PostgreSQL side alone).
  double faiss_build = 0, faiss_bytes = 0;
  Measured faiss_m;
  if (with_faiss) {
    t = Clock::now();
    auto faiss = index::make_faiss_index(kDim, hnsw, nullptr, 0);
    faiss->add(vectors.data(), ids.data(), n);
    faiss_build = seconds_since(t);
    faiss_m = measure(queries, nq, truth, [&](const float* q) { return faiss->search(q, 1, kK)[0]; });
    const std::string file = (std::filesystem::temp_directory_path() / "clipdex-bench-hnsw.faiss").string();
    faiss->save(file);
    faiss_bytes = double(std::filesystem::file_size(file)) / double(n);
    std::filesystem::remove(file);
    std::fprintf(stderr, "FAISS HNSW: built in %.1f s\n", faiss_build);
  }

  // The table's head and its FAISS rows (alone with --pg no: FAISS's figures rerun by themselves).
  const auto print_faiss_rows = [&] {
    std::printf("%zu random %d-d unit vectors, %zu single queries, k = %zu\n\n", n, kDim, nq, kK);
    std::printf("| engine | build s | search p50 ms | p95 ms | recall@10 | bytes / vector |\n|---|---|---|---|---|---|\n");
    std::printf("| FAISS flat (exact; 50 queries) | - | %.2f | %.2f | 1.000 | %d |\n", flat_m.p50_ms, flat_m.p95_ms, kDim * 4);
    std::printf("| FAISS HNSW (m %d, efConstruction %d, ef %d) | %.0f | %.2f | %.2f | %.3f | %.0f (vectors + graph) |\n",
                hnsw.hnsw_m, index::faiss_ef_construction(hnsw), hnsw.hnsw_ef_search, faiss_build, faiss_m.p50_ms, faiss_m.p95_ms, faiss_m.recall, faiss_bytes);
  };
  if (!with_pg) {
    print_faiss_rows();
    return 0;
  }

  // PostgreSQL: written through the catalog as `clipdex index` writes (flat while loading), then
  // the HNSW index built over the table as `index --index-type hnsw` builds it (with --hnsw-m's m).
  const std::string db_name = "clipdex_bench_vectors";
  {
    auto admin = store::open_database(url);
    admin->exec(("DROP DATABASE IF EXISTS " + db_name + " WITH (FORCE)").c_str());
    admin->exec(("CREATE DATABASE " + db_name).c_str());
  }
  const std::string db = with_database(url, db_name);
  pipeline::Library lib(db);
  lib.check_model("bench-random-512", /*bind_if_empty=*/true);
  lib.acquire_writer("pgvector_vs_faiss", pipeline::WriterLock::Wait::Yes);
  t = Clock::now();
  for (size_t b = 0; b < n; b += 2000) {
    store::CatalogChange change;
    for (size_t i = b; i < std::min(n, b + 2000); ++i) {
      store::NewContent c;
      c.hash = "v" + std::to_string(i);
      c.width = c.height = 512;
      c.embedding.assign(&vectors[i * kDim], &vectors[(i + 1) * kDim]);
      c.files.push_back({"/bench/" + std::to_string(i) + ".jpg", 1000, 0, -1, "indexed", ""});
      change.contents.push_back(std::move(c));
    }
    lib.apply(change);
  }
  const double pg_load = seconds_since(t);
  std::fprintf(stderr, "PostgreSQL: %zu vectors written in %.1f s\n", n, pg_load);
  t = Clock::now();
  store::ensure_pgvector_index(lib.catalog(), hnsw, kDim);
  const double pg_build = seconds_since(t);
  std::fprintf(stderr, "PostgreSQL HNSW: built in %.1f s\n", pg_build);
  const auto pg = store::make_pgvector_index(lib.catalog(), hnsw, kDim);
  const auto pg_m = measure(queries, nq, truth, [&](const float* q) { return pg->search(q, 1, kK)[0]; });
  auto& sql = lib.catalog().database();
  const double table_bytes = double(scalar(sql, "SELECT pg_table_size('contents')")) / double(n);
  const double index_bytes = double(scalar(sql, "SELECT pg_relation_size('contents_embedding_hnsw')")) / double(n);
  const double vector_bytes = double(scalar(sql, "SELECT AVG(pg_column_size(embedding))::bigint FROM contents"));

  print_faiss_rows();
  std::printf("| PostgreSQL pgvector HNSW halfvec (m %d, ef_construction %d, ef %d) | %.0f | %.2f | %.2f | %.3f | %.0f (halfvec %.0f; table rows %.0f + index %.0f) |\n",
              hnsw.hnsw_m, store::pgvector_ef_construction(hnsw), hnsw.hnsw_ef_search, pg_build, pg_m.p50_ms, pg_m.p95_ms,
              pg_m.recall, table_bytes + index_bytes, vector_bytes, table_bytes, index_bytes);
  std::printf("\nPostgreSQL catalog writes (contents + files, flat): %.0f vectors/s\n", double(n) / pg_load);
  return 0;
}
