// Indexing and search end to end on the fixture images with the vit-tiny model: self-retrieval,
// agreement with a brute-force ranking of `clipdex embed` outputs, incremental updates,
// duplicates, failures, a SIGKILLed indexer, approximate indexes, image->text, zero-shot.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <typeinfo>

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/index_io.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"
#include "index/vector_index.h"
#include "pipeline/indexer.h"
#include "search/searcher.h"
#include "search/zeroshot.h"
#include "store/catalog.h"
#include "index/simd_flat.h"
#include "test_util.h"

using namespace clipdex;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string>& kImages = test::fixture_image_files();

std::string model_dir() { return test::shared_path("fixtures/models/vit-tiny/hf"); }

std::shared_ptr<pipeline::Embedder> embedder() {
  static auto e = pipeline::Embedder::open(model_dir());
  return e;
}

// A folder with copies of the fixture images.
std::string image_folder(const std::string& name) {
  const std::string dir = test::scratch_dir(name);
  for (const auto& f : kImages) fs::copy_file(test::shared_path("fixtures/images/" + f), dir + "/" + f);
  return dir;
}

pipeline::IndexOptions quiet() {
  pipeline::IndexOptions o;
  o.progress = false;
  return o;
}

nlohmann::json cli_json(const std::string& args) {
  auto r = test::run_cli(args);
  EXPECT_EQ(r.exit_code, 0) << args;
  return nlohmann::json::parse(r.out);
}

// Embeds JSON lines with one `clipdex embed` run.
std::vector<std::vector<float>> embed_lines(const std::vector<nlohmann::json>& lines) {
  std::string in;
  for (const auto& l : lines) in += l.dump() + "\n";
  auto r = test::run_cli("embed --normalize --model " + model_dir(), in);
  EXPECT_EQ(r.exit_code, 0);
  std::vector<std::vector<float>> out;
  std::istringstream s(r.out);
  for (std::string line; std::getline(s, line);) out.push_back(nlohmann::json::parse(line)["embedding"].get<std::vector<float>>());
  return out;
}

float dot(const std::vector<float>& a, const std::vector<float>& b) {
  float s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

}  // namespace

TEST(Library, EveryImageFindsItselfFirst) {
  const std::string dir = image_folder("self");
  const std::string db = dir + "/lib.db";
  auto r = test::run_cli("index " + dir + " --quiet --db " + db + " --model " + model_dir());
  ASSERT_EQ(r.exit_code, 0);
  search::Searcher s(std::make_shared<pipeline::Library>(db), embedder());
  for (const auto& f : kImages) {
    const auto hits = s.by_image_file(dir + "/" + f, {3, -1});
    ASSERT_FALSE(hits.empty());
    EXPECT_EQ(hits[0].path, fs::weakly_canonical(dir + "/" + f).string());
    EXPECT_NEAR(hits[0].score, 1.0, 1e-4);
  }
  const auto j = cli_json("search --json -k 3 --db " + db + " --image " + dir + "/chelsea.png");
  EXPECT_EQ(j["results"][0]["path"], fs::weakly_canonical(dir + "/chelsea.png").string());
  EXPECT_NEAR(j["results"][0]["score"].get<double>(), 1.0, 1e-4);
}

TEST(Library, TextSearchEqualsBruteForceOverEmbedOutputs) {
  const std::string dir = image_folder("brute");
  const std::string db = dir + "/lib.db";
  ASSERT_EQ(test::run_cli("index " + dir + " --quiet --db " + db + " --model " + model_dir()).exit_code, 0);
  const std::vector<std::string> queries = {"a photo of a cat", "a rocket on the launch pad", "coffee"};
  std::vector<nlohmann::json> lines;
  for (const auto& q : queries) lines.push_back({{"text", q}});
  for (const auto& f : kImages) lines.push_back({{"image", dir + "/" + f}});
  const auto vecs = embed_lines(lines);
  ASSERT_EQ(vecs.size(), queries.size() + kImages.size());
  for (size_t qi = 0; qi < queries.size(); ++qi) {
    const std::string& query = queries[qi];
    std::vector<std::pair<float, std::string>> brute;
    for (size_t i = 0; i < kImages.size(); ++i)
      brute.push_back({dot(vecs[qi], vecs[queries.size() + i]), fs::weakly_canonical(dir + "/" + kImages[i]).string()});
    std::sort(brute.rbegin(), brute.rend());
    const auto j = cli_json("search --json -k 8 --db " + db + " \"" + query + "\"");
    ASSERT_EQ(j["results"].size(), 8u);
    for (size_t i = 0; i < 8; ++i) {
      EXPECT_EQ(j["results"][i]["path"], brute[i].second) << query << " rank " << i;
      EXPECT_NEAR(j["results"][i]["score"].get<float>(), brute[i].first, 1e-4);
    }
    // --min-score keeps only what reaches it.
    const auto some = cli_json("search --json -k 8 --db " + db + " --min-score " + std::to_string(brute[2].first - 1e-6) + " \"" + query + "\"");
    EXPECT_EQ(some["results"].size(), 3u);
  }
}

TEST(Library, UpdatesDuplicatesFailuresAndDeletions) {
  const std::string dir = image_folder("updates");
  const std::string db = test::scratch_dir("updates-db") + "/lib.db";
  auto lib = std::make_shared<pipeline::Library>(db);
  lib->check_model(embedder()->model().model_id(), true);
  auto r1 = pipeline::index_folders(*lib, *embedder(), {dir}, quiet());
  EXPECT_EQ(r1.embedded, 8);

  // Add a duplicate and a corrupt file, replace one image by another, delete one.
  fs::create_directories(dir + "/sub");
  fs::copy_file(dir + "/coffee.png", dir + "/sub/coffee-copy.png");
  std::ofstream(dir + "/broken.jpg", std::ios::binary) << std::string("\xff\xd8\xff\xe0 not really a jpeg", 22);
  fs::remove(dir + "/camera.png");
  const auto before = fs::last_write_time(dir + "/logo.png");
  fs::copy_file(dir + "/rocket.jpg", dir + "/logo.png", fs::copy_options::overwrite_existing);
  fs::last_write_time(dir + "/logo.png", before + std::chrono::seconds(5));
  auto r2 = pipeline::index_folders(*lib, *embedder(), {dir}, quiet());
  EXPECT_EQ(r2.removed, 1);
  EXPECT_EQ(r2.failed, 1);
  EXPECT_EQ(r2.duplicates, 2);  // the coffee copy, and logo.png now holding rocket.jpg's bytes
  EXPECT_EQ(r2.embedded, 0);
  const auto st = lib->catalog().stats();
  EXPECT_EQ(st.files, 9);        // 8 - camera + copy + broken
  EXPECT_EQ(st.failed, 1);
  EXPECT_EQ(st.contents, 6);     // camera and the old logo are gone; duplicates stored once
  const auto files = lib->catalog().files();
  EXPECT_EQ(files.at(fs::weakly_canonical(dir + "/broken.jpg").string()).status, "failed");
  EXPECT_NE(files.at(fs::weakly_canonical(dir + "/broken.jpg").string()).error.find("broken.jpg"), std::string::npos);

  search::Searcher s(lib, embedder());
  const auto hits = s.by_image_file(dir + "/rocket.jpg", {10, -1});
  ASSERT_EQ(hits.size(), 6u);
  EXPECT_NEAR(hits[0].score, 1.0, 1e-4);
  EXPECT_EQ(hits[0].paths.size(), 2u);  // rocket.jpg and logo.png, returned once
  const auto coffee = s.by_image_file(dir + "/coffee.png", {1, -1});
  EXPECT_EQ(coffee[0].paths.size(), 2u);
  for (const auto& h : s.by_text("a photo", {10, -1})) EXPECT_EQ(h.path.find("camera.png"), std::string::npos);

  // A third run changes nothing; retrying failures fails again, cleanly.
  auto r3 = pipeline::index_folders(*lib, *embedder(), {dir}, quiet());
  EXPECT_EQ(r3.unchanged, 9);
  auto retry = quiet();
  retry.retry_failed = true;
  EXPECT_EQ(pipeline::index_folders(*lib, *embedder(), {dir}, retry).failed, 1);
}

TEST(Library, RefusesVectorsFromAnotherModel) {
  const std::string dir = image_folder("other-model");
  const std::string db = dir + "/lib.db";
  ASSERT_EQ(test::run_cli("index " + dir + " --quiet --db " + db + " --model " + model_dir()).exit_code, 0);
  auto r = test::run_cli("index " + dir + " --quiet --db " + db + " --model " + test::shared_path("fixtures/models/rn-tiny") +
                         " --vocab " + test::shared_path("clip/hf-tokenizer"));
  EXPECT_EQ(r.exit_code, 2);
}

TEST(Library, ResumesAfterSigkill) {
  // 64 distinct files: fixture images with a unique trailing byte (ignored by the decoders).
  const std::string dir = test::scratch_dir("killed");
  for (int i = 0; i < 64; ++i) {
    const std::string& f = kImages[i % kImages.size()];
    std::string bytes = read_file(test::shared_path("fixtures/images/" + f));
    bytes += std::to_string(i);
    std::ofstream(dir + "/" + std::to_string(i) + "-" + f, std::ios::binary) << bytes;
  }
  const std::string db = test::scratch_dir("killed-db") + "/lib.db";
  bool killed_mid_run = false;
  for (int attempt = 0; attempt < 5 && !killed_mid_run; ++attempt) {
    const pid_t pid = fork();
    if (pid == 0) {
      execl(CLIPDEX_BINARY, "clipdex", "index", dir.c_str(), "--quiet", "--batch", "2", "--threads", "1", "--db",
            db.c_str(), "--model", model_dir().c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    // Kill once some batches are committed but not all.
    for (int wait_ms = 0; wait_ms < 20000; wait_ms += 5) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      int64_t contents = 0;
      try {
        contents = store::Catalog(db).stats().contents;
      } catch (const Error&) {
      }
      if (contents >= 4 + attempt * 8) break;
    }
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    killed_mid_run = WIFSIGNALED(status) && store::Catalog(db).stats().contents < 64;
  }
  ASSERT_TRUE(killed_mid_run) << "the indexer finished before it could be killed";
  // The rerun completes: every file once, one vector per content, search works.
  auto r = test::run_cli("index " + dir + " --quiet --db " + db);
  ASSERT_EQ(r.exit_code, 0);
  auto lib = std::make_shared<pipeline::Library>(db);
  const auto st = lib->catalog().stats();
  EXPECT_EQ(st.files, 64);
  EXPECT_EQ(st.contents, 64);
  EXPECT_EQ(st.failed, 0);
  lib->sync();
  EXPECT_EQ(lib->vectors()->size(), 64u);
  std::set<int64_t> ids;
  lib->catalog().for_each_embedding([&](int64_t id, std::span<const float>) { EXPECT_TRUE(ids.insert(id).second); });
  search::Searcher s(lib, embedder());
  const auto hits = s.by_image_file(dir + "/0-astronaut.png", {64, -1});
  EXPECT_EQ(hits.size(), 64u);
  EXPECT_NEAR(hits[0].score, 1.0, 1e-4);
}

TEST(Library, ApproximateIndexesAgreeWithFlatOnTheFixtures) {
  for (const std::string type : {"hnsw", "ivfpq"}) {
    const std::string dir = image_folder("approx-" + type);
    const std::string db = dir + "/lib.db";
    ASSERT_EQ(test::run_cli("index " + dir + " --quiet --index-type " + type + " --db " + db + " --model " + model_dir()).exit_code, 0);
    auto lib = std::make_shared<pipeline::Library>(db);
    lib->sync();
    EXPECT_EQ(index::index_type_name(lib->vectors()->type()), type);
    for (const std::string query : {"a photo of a cat", "a red motorcycle", "an astronaut"}) {
      const auto flat = cli_json("search --json -k 1 --db " + db + " \"" + query + "\"");
      search::Searcher s(lib, embedder());
      const auto q = s.text_embedding(query);
      std::vector<std::pair<float, int64_t>> brute;
      lib->catalog().for_each_embedding([&](int64_t id, std::span<const float> v) {
        brute.push_back({dot(q, std::vector<float>(v.begin(), v.end())), id});
      });
      std::sort(brute.rbegin(), brute.rend());
      EXPECT_EQ(flat["results"][0]["id"].get<int64_t>(), brute[0].second) << type << ": " << query;
    }
  }
}

TEST(VectorIndex, HnswAndIvfpqRecallOnSyntheticVectors) {
  const int dim = 64;
  const size_t n = 5000, nq = 100, k = 10;
  std::mt19937 rng(42);
  std::normal_distribution<float> g;
  // Clustered like real embeddings: points around 64 random centres.
  std::vector<float> centres(64 * dim);
  for (auto& x : centres) x = g(rng);
  auto unit = [&](size_t count) {
    std::vector<float> v(count * dim);
    for (size_t i = 0; i < count; ++i) {
      const size_t c = rng() % 64;
      for (int j = 0; j < dim; ++j) v[i * dim + j] = centres[c * dim + j] + 0.6f * g(rng);
    }
    for (size_t i = 0; i < count; ++i) {
      float norm = 0;
      for (int j = 0; j < dim; ++j) norm += v[i * dim + j] * v[i * dim + j];
      for (int j = 0; j < dim; ++j) v[i * dim + j] /= std::sqrt(norm);
    }
    return v;
  };
  const auto data = unit(n), queries = unit(nq);
  std::vector<int64_t> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = static_cast<int64_t>(i) * 3 + 7;
  index::IndexParams flat_p;
  auto flat = index::make_faiss_index(dim, flat_p, nullptr, 0);
  flat->add(data.data(), ids.data(), n);
  const auto truth = flat->search(queries.data(), nq, k);
  auto recall = [&](index::VectorIndex& idx) {
    const auto got = idx.search(queries.data(), nq, k);
    size_t hit = 0;
    for (size_t q = 0; q < nq; ++q)
      for (const auto& h : got[q])
        for (const auto& t : truth[q]) hit += h.id == t.id;
    return static_cast<double>(hit) / (nq * k);
  };
  index::IndexParams hp;
  hp.type = index::IndexType::HNSW;
  auto hnsw = index::make_faiss_index(dim, hp, nullptr, 0);
  hnsw->add(data.data(), ids.data(), n);
  const double hr = recall(*hnsw);
  std::cout << "[ recall ] HNSW recall@10 = " << hr << "\n";
  EXPECT_GE(hr, 0.95);
  index::IndexParams ip;
  ip.type = index::IndexType::IVFPQ;
  auto ivf = index::make_faiss_index(dim, ip, data.data(), n);
  ivf->add(data.data(), ids.data(), n);
  const double ir = recall(*ivf);
  // Searches re-rank 4k IVF-PQ candidates with the exact stored vectors, as Searcher does.
  const auto candidates = ivf->search(queries.data(), nq, 4 * k);
  size_t rerank_hits = 0;
  for (size_t q = 0; q < nq; ++q) {
    std::vector<std::pair<float, int64_t>> rescored;
    for (const auto& h : candidates[q]) {
      const size_t row = static_cast<size_t>((h.id - 7) / 3);
      float s = 0;
      for (int j = 0; j < dim; ++j) s += queries[q * dim + j] * data[row * dim + j];
      rescored.push_back({s, h.id});
    }
    std::sort(rescored.rbegin(), rescored.rend());
    for (size_t i = 0; i < std::min(k, rescored.size()); ++i)
      for (const auto& t : truth[q]) rerank_hits += rescored[i].second == t.id;
  }
  const double rr = static_cast<double>(rerank_hits) / (nq * k);
  std::cout << "[ recall ] IVF-PQ recall@10 = " << ir << ", re-ranked from 40 candidates = " << rr << "\n";
  EXPECT_GE(rr, 0.8);

  // Removal, sharding and a save/load round trip keep results.
  EXPECT_TRUE(flat->remove(&ids[0], 1));
  EXPECT_EQ(flat->size(), n - 1);
  EXPECT_FALSE(hnsw->remove(&ids[0], 1));  // HNSW cannot delete: callers rebuild
  std::vector<std::unique_ptr<index::VectorIndex>> shards;
  for (int s = 0; s < 3; ++s) shards.push_back(index::make_faiss_index(dim, flat_p, nullptr, 0));
  auto sharded = index::make_sharded_index(std::move(shards));
  sharded->add(data.data(), ids.data(), n);
  EXPECT_DOUBLE_EQ(recall(*sharded), 1.0);
  const std::string path = test::scratch_dir("idx") + "/i.faiss";
  ivf->save(path);
  auto loaded = index::load_faiss_index(path);
  EXPECT_EQ(loaded->type(), index::IndexType::IVFPQ);
  EXPECT_DOUBLE_EQ(recall(*loaded), ir);
  auto mapped = index::load_faiss_index(path, /*mmap=*/true);  // inverted lists stay on disk
  EXPECT_DOUBLE_EQ(recall(*mapped), ir);
  EXPECT_THROW(index::load_faiss_index(test::shared_path("README.md")), InputError);
}

// Debian's FAISS scores with a scalar loop; clipdex's flat storage scores with vectorised code
// (index/simd_flat.h). It must score as FAISS does, search as FAISS's flat index does, and
// keep FAISS's file format.
TEST(VectorIndex, VectorisedScoringMatchesFaiss) {
  std::mt19937 rng(7);
  std::normal_distribution<float> g;
  for (size_t d : {1, 7, 63, 64, 65, 130, 512, 768}) {
    std::vector<float> a(d), b(d);
    for (size_t i = 0; i < d; ++i) a[i] = g(rng), b[i] = g(rng);
    double want = 0, scale = 0;
    for (size_t i = 0; i < d; ++i) want += double(a[i]) * b[i], scale += std::abs(double(a[i]) * b[i]);
    EXPECT_NEAR(index::dot_product(a.data(), b.data(), d), want, 1e-6 * scale) << "d = " << d;
  }

  const int dim = 96;
  const size_t n = 3000, k = 12;
  std::vector<float> data(n * dim), queries(30 * dim);
  for (auto& x : data) x = g(rng);
  for (auto& x : queries) x = g(rng);
  faiss::IndexFlatIP plain(dim);
  plain.add(static_cast<faiss::Index::idx_t>(n), data.data());
  index::SimdFlatIP simd(dim);
  simd.add(static_cast<faiss::Index::idx_t>(n), data.data());
  for (size_t nq : {1, 3, 30}) {  // 30: FAISS's own BLAS path
    std::vector<float> dp(nq * k), ds(nq * k);
    std::vector<faiss::Index::idx_t> lp(nq * k), ls(nq * k);
    plain.search(static_cast<faiss::Index::idx_t>(nq), queries.data(), k, dp.data(), lp.data());
    simd.search(static_cast<faiss::Index::idx_t>(nq), queries.data(), k, ds.data(), ls.data());
    EXPECT_EQ(ls, lp) << nq << " queries";
    for (size_t i = 0; i < nq * k; ++i) EXPECT_NEAR(ds[i], dp[i], 1e-4f * std::abs(dp[i]) + 1e-5f);
  }

  // Flat and HNSW indexes are written as FAISS's own types and read back with the same answers.
  std::vector<int64_t> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = static_cast<int64_t>(i) + 100;
  for (const auto type : {index::IndexType::Flat, index::IndexType::HNSW}) {
    index::IndexParams p;
    p.type = type;
    auto idx = index::make_faiss_index(dim, p, nullptr, 0);
    idx->add(data.data(), ids.data(), n);
    const auto before = idx->search(queries.data(), 5, k);
    const std::string path = test::scratch_dir("simd-flat") + "/i.faiss";
    idx->save(path);
    std::unique_ptr<faiss::Index> raw(faiss::read_index(path.c_str()));
    const auto* map = dynamic_cast<const faiss::IndexIDMap2*>(raw.get());
    ASSERT_NE(map, nullptr);
    const faiss::Index* storage = type == index::IndexType::HNSW ? dynamic_cast<const faiss::IndexHNSW*>(map->index)->storage : map->index;
    EXPECT_EQ(typeid(*storage), typeid(faiss::IndexFlatIP));
    const auto after = index::load_faiss_index(path)->search(queries.data(), 5, k);
    for (size_t q = 0; q < 5; ++q) {
      ASSERT_EQ(after[q].size(), before[q].size());
      for (size_t j = 0; j < before[q].size(); ++j) {
        EXPECT_EQ(after[q][j].id, before[q][j].id);
        EXPECT_EQ(after[q][j].score, before[q][j].score);
      }
    }
  }
}

TEST(Library, ImageToTextOverStoredCaptions) {
  const std::string dir = image_folder("texts");
  const std::string db = dir + "/lib.db";
  ASSERT_EQ(test::run_cli("index " + dir + " --quiet --db " + db + " --model " + model_dir()).exit_code, 0);
  std::ofstream(dir + "/captions.txt") << "a cat on a chair\na rocket launch\na cup of coffee\na cat on a chair\n";
  ASSERT_EQ(test::run_cli("index-texts " + dir + "/captions.txt --db " + db).exit_code, 0);
  const auto j = cli_json("search --json --target texts -k 5 --db " + db + " --image " + dir + "/rocket.jpg");
  ASSERT_EQ(j["results"].size(), 3u);  // the repeated caption is stored once
  const std::vector<std::string> captions = {"a cat on a chair", "a rocket launch", "a cup of coffee"};
  std::vector<nlohmann::json> lines = {{{"image", dir + "/rocket.jpg"}}};
  for (const auto& t : captions) lines.push_back({{"text", t}});
  const auto vecs = embed_lines(lines);
  std::vector<std::pair<float, std::string>> brute;
  for (size_t i = 0; i < captions.size(); ++i) brute.push_back({dot(vecs[0], vecs[i + 1]), captions[i]});
  std::sort(brute.rbegin(), brute.rend());
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(j["results"][i]["text"], brute[i].second);
}

TEST(Library, SearchErrorsAreClear) {
  const std::string db = test::scratch_dir("errors") + "/lib.db";
  EXPECT_EQ(test::run_cli("search --db " + db + " cat").exit_code, 2);  // no model yet
  EXPECT_NE(test::run_cli("search --db " + db + " --model " + model_dir()).exit_code, 0);  // no query
  EXPECT_EQ(test::run_cli("search --db " + db + " --model " + model_dir() + " --image /missing.png").exit_code, 2);
}

TEST(QueryCache, EvictsLeastRecentlyUsed) {
  search::QueryCache c(2);
  c.put("a", {1});
  c.put("b", {2});
  EXPECT_TRUE(c.get("a"));
  c.put("c", {3});  // evicts b
  EXPECT_FALSE(c.get("b"));
  EXPECT_EQ(*c.get("c"), std::vector<float>{3});
  EXPECT_EQ(c.hits(), 2u);
  EXPECT_EQ(c.misses(), 1u);
}

TEST(ZeroShot, ClassEmbeddingsAreEnsembledAndCached) {
  const auto emb = embedder();
  const std::string cache = test::scratch_dir("zs-cache");
  const std::string templates = cache + "/t.json";
  std::ofstream(templates) << R"(["a photo of a {}.", "a drawing of a {}."])";
  search::ZeroShotClassifier clf(*emb, search::labels_prompt_set("cat, rocket, coffee", templates), cache);
  const size_t d = static_cast<size_t>(emb->dim());
  // Class 1 ("rocket") = normalise(mean(normalised template embeddings)).
  auto t = emb->embed_texts({"a photo of a rocket.", "a drawing of a rocket."}, true);
  std::vector<float> mean(d);
  for (size_t j = 0; j < d; ++j) mean[j] = t[j] + t[d + j];
  pipeline::normalize_rows(mean, d);
  for (size_t j = 0; j < d; ++j) EXPECT_NEAR(clf.class_embeddings()[d + j], mean[j], 1e-5);
  ASSERT_EQ(std::distance(fs::recursive_directory_iterator(cache), fs::recursive_directory_iterator()), 3);  // t.json, zeroshot/, file
  search::ZeroShotClassifier again(*emb, search::labels_prompt_set("cat, rocket, coffee", templates), cache);
  EXPECT_EQ(again.class_embeddings(), clf.class_embeddings());

  const auto px = image::preprocess(image::decode_image_file(test::shared_path("fixtures/images/rocket.jpg")), emb->model().preprocess_config());
  const auto v = emb->embed_pixels(px.data(), 1, true);
  const auto preds = clf.classify(v, 3);
  ASSERT_EQ(preds.size(), 3u);
  float best = -2;
  size_t best_i = 0;
  for (size_t c = 0; c < 3; ++c) {
    float s = 0;
    for (size_t j = 0; j < d; ++j) s += v[j] * clf.class_embeddings()[c * d + j];
    if (s > best) best = s, best_i = c;
  }
  EXPECT_EQ(preds[0].class_index, best_i);
  float total = 0;
  for (const auto& p : preds) total += p.probability;
  EXPECT_NEAR(total, 1.0f, 1e-5);
}

TEST(ZeroShot, PromptSetsFromTheCLIPPaperFile) {
  const auto set = search::load_prompt_set(test::shared_path("clip/zeroshot_prompts.json"), "ImageNet");
  EXPECT_EQ(set.classes.size(), 1000u);
  EXPECT_EQ(set.templates.size(), 80u);
  EXPECT_THROW(search::load_prompt_set(test::shared_path("clip/zeroshot_prompts.json"), "NoSuchSet"), InputError);
  auto r = test::run_cli("classify --json --no-cache --model " + model_dir() + " --prompts CIFAR10 --prompts-file " +
                         test::shared_path("clip/zeroshot_prompts.json") + " --top 3 " +
                         test::shared_path("fixtures/images/chelsea.png") + " /missing.png");
  EXPECT_EQ(r.exit_code, 2);  // one image failed
  std::istringstream lines(r.out);
  std::string first, second;
  std::getline(lines, first);
  std::getline(lines, second);
  EXPECT_EQ(nlohmann::json::parse(first)["predictions"].size(), 3u);
  EXPECT_TRUE(nlohmann::json::parse(second).contains("error"));
}
