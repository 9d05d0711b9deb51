// clipdex's flat and HNSW indexes (vectorised scoring, index/simd_flat.h) against the same FAISS
// indexes with FAISS's own scoring, in one run: HNSW build time, and single-query search time
// for flat and HNSW. Random unit vectors; same parameters on both sides (HNSW m 32,
// efConstruction 80, efSearch 128).
//   OMP_WAIT_POLICY=passive build/bench/faiss_scoring [--vectors 20000] [--dim 512] [--queries 200]
// (passive: FAISS's OpenMP threads otherwise spin after its searches and take the core the next
// single-threaded search needs; the figures in docs/BENCHMARKS.md were measured so).
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "index/vector_index.h"
#include "random_vectors.h"

using namespace clipdex;
using bench::Clock;
using bench::seconds_since;
using bench::unit_vectors;

namespace {

// Median milliseconds of one call per query.
template <typename Search>
double p50_ms(size_t nq, Search search) {
  std::vector<double> ms;
  for (size_t q = 0; q < nq; ++q) {
    const auto t = Clock::now();
    search(q);
    ms.push_back(seconds_since(t) * 1e3);
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  size_t n = 20000, d = 512, nq = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--vectors")) n = std::stoul(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--dim")) d = std::stoul(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--queries")) nq = std::stoul(argv[i + 1]);
  }
  const auto data = unit_vectors(n, d, 1), queries = unit_vectors(nq, d, 2);
  std::vector<int64_t> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = static_cast<int64_t>(i);
  const auto fn = static_cast<faiss::Index::idx_t>(n);
  constexpr faiss::Index::idx_t k = 10;
  std::vector<float> dist(k);
  std::vector<faiss::Index::idx_t> lab(k);

  faiss::IndexFlatIP faiss_flat(static_cast<faiss::Index::idx_t>(d));
  faiss_flat.add(fn, data.data());
  const double faiss_flat_ms =
      p50_ms(nq, [&](size_t q) { faiss_flat.search(1, &queries[q * d], k, dist.data(), lab.data()); });
  auto flat = index::make_faiss_index(static_cast<int>(d), {}, nullptr, 0);
  flat->add(data.data(), ids.data(), n);
  const double flat_ms = p50_ms(nq, [&](size_t q) { flat->search(&queries[q * d], 1, k); });

  faiss::IndexHNSWFlat faiss_hnsw(static_cast<int>(d), 32, faiss::METRIC_INNER_PRODUCT);
  faiss_hnsw.hnsw.efConstruction = 80;
  faiss_hnsw.hnsw.efSearch = 128;
  auto t = Clock::now();
  faiss_hnsw.add(fn, data.data());
  const double faiss_build = seconds_since(t);
  const double faiss_hnsw_ms =
      p50_ms(nq, [&](size_t q) { faiss_hnsw.search(1, &queries[q * d], k, dist.data(), lab.data()); });
  index::IndexParams hp;
  hp.type = index::IndexType::HNSW;
  auto hnsw = index::make_faiss_index(static_cast<int>(d), hp, nullptr, 0);
  t = Clock::now();
  hnsw->add(data.data(), ids.data(), n);
  const double build = seconds_since(t);
  const double hnsw_ms = p50_ms(nq, [&](size_t q) { hnsw->search(&queries[q * d], 1, k); });

  std::printf("%zu random %zu-d unit vectors, %zu single queries (k = 10)\n\n", n, d, nq);
  std::printf("| | FAISS's scoring (baseline) | clipdex | speed-up |\n|---|---|---|---|\n");
  std::printf("| flat search p50 | %.3f ms | %.3f ms | %.1fx |\n", faiss_flat_ms, flat_ms, faiss_flat_ms / flat_ms);
  std::printf("| HNSW build | %.1f s | %.1f s | %.1fx |\n", faiss_build, build, faiss_build / build);
  std::printf("| HNSW search p50 | %.3f ms | %.3f ms | %.1fx |\n", faiss_hnsw_ms, hnsw_ms, faiss_hnsw_ms / hnsw_ms);
  return 0;
}
