// Deep result lists: time to return the 10,000 best results (and the page at offset 9,900) of a
// 100,000-image library, per index type, and 1,000 results of a folder filter passing 10%. The library is synthetic: random unit vectors of the
// fixture vit-tiny model's width under made-up paths, written through the normal catalog path.
//   build/bench/deep_results [--images 100000] [--k 10000] [--work DIR]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>

#include "search/searcher.h"

using namespace clipdex;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  size_t images = 100000, k = 10000;
  std::string work = (std::filesystem::temp_directory_path() / "clipdex-deep").string();
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--images")) images = std::stoul(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--k")) k = std::stoul(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--work")) work = argv[i + 1];
  }
  const auto embedder = pipeline::Embedder::open(std::string(CLIPDEX_SHARED_DIR) + "/fixtures/models/vit-tiny/hf");
  const int dim = embedder->dim();
  std::filesystem::remove_all(work);
  std::filesystem::create_directories(work);
  std::printf("| index | images | k | first page (k results) ms | page at offset %zu (100 results) ms | "
              "folder filter (10%%), 1,000 results ms |\n|---|---|---|---|---|---|\n",
              k - 100);
  for (const char* type : {"flat", "hnsw", "ivfpq"}) {
    const std::string db = work + "/" + type + ".db";
    auto lib = std::make_shared<pipeline::Library>(db);
    lib->set_setting("index_type", type);
    lib->check_model(embedder->model_id(), /*bind_if_empty=*/true);
    {
      pipeline::Library::WriterScope writer(*lib, "deep_results bench", pipeline::WriterLock::Wait::Yes);
      std::mt19937 rng(1);
      std::normal_distribution<float> g;
      for (size_t b = 0; b < images; b += 10000) {
        store::CatalogChange change;
        for (size_t i = b; i < std::min(images, b + 10000); ++i) {
          store::NewContent c;
          c.hash = "synthetic-" + std::to_string(i);
          c.width = c.height = 512;
          c.embedding.resize(static_cast<size_t>(dim));
          double n = 0;
          for (auto& v : c.embedding) {
            v = g(rng);
            n += double(v) * v;
          }
          for (auto& v : c.embedding) v = static_cast<float>(v / std::sqrt(n));
          c.metadata.format = "jpeg";
          c.files.push_back({"/photos/d" + std::to_string(i % 10) + "/" + std::to_string(i) + ".jpg", 1000, 0, -1, "indexed", ""});
          change.contents.push_back(std::move(c));
        }
        lib->apply(change);
      }
      std::unique_lock lock(lib->mutex());
      lib->save_vectors();
    }
    search::Searcher s(lib, embedder);
    const auto q = s.text_embedding("a photo of a cat");
    s.by_vector(q, {10, -1.0f, 0});  // warm: load the index
    auto t0 = Clock::now();
    const auto all = s.by_vector(q, {k, -1.0f, 0});
    const double first_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    t0 = Clock::now();
    const auto page = s.by_vector(q, {100, -1.0f, k - 100});
    const double page_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    search::Query filtered{1000, -1.0f, 0};
    filtered.filter.folders = {"/photos/d3"};
    t0 = Clock::now();
    const auto in_folder = s.by_vector(q, filtered);
    const double filtered_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    std::printf("| %s | %zu | %zu (%zu returned) | %.0f | %.0f (%zu returned) | %.0f (%zu returned) |\n", type, images, k,
                all.size(), first_ms, page_ms, page.size(), filtered_ms, in_folder.size());
  }
  return 0;
}
