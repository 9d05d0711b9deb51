// The public C++ API (include/clipdex/clipdex.h) against the CLI on the fixtures: embeddings of
// texts, files, encoded bytes and RGB buffers; a model shared by threads; indexing with progress
// and cancellation; searches with terms and filters; zero-shot classification; errors.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "clipdex/clipdex.h"
#include "clipdex/clipdex_c.h"
#include "clipdex/finetune.h"
#include "core/mapped_file.h"
#include "core/thread_pool.h"
#include "image/decode.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace {

const std::string& model_path() {
  static const std::string p = clipdex::test::shared_path("fixtures/models/vit-tiny/hf");
  return p;
}

clipdex::Model fixture_model() {
  clipdex::ModelOptions o;
  o.precision = "fp32";
  return clipdex::Model::open(model_path(), o);
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

std::vector<float> flatten(const std::vector<std::vector<float>>& rows) {
  std::vector<float> out;
  for (const auto& r : rows) out.insert(out.end(), r.begin(), r.end());
  return out;
}

// DIR/photos holding the fixture photographs; returns that folder.
std::string copy_fixture_photos(const std::string& dir) {
  const std::string photos = dir + "/photos";
  fs::create_directories(photos);
  for (const auto& f : clipdex::test::fixture_image_files())
    fs::copy_file(clipdex::test::shared_path("fixtures/images/" + f), photos + "/" + f);
  return photos;
}

}  // namespace

TEST(Api, EmbeddingsMatchTheCli) {
  const auto model = fixture_model();
  const std::vector<std::string> texts = {"a photo of a cat", "a rocket", "ein Hund"};
  std::string jsonl;
  for (const auto& t : texts) jsonl += nlohmann::json{{"text", t}}.dump() + "\n";
  EXPECT_LE(max_abs_diff(model.embed_texts(texts, true), flatten(clipdex::test::embed_with_cli(model_path(), jsonl))), 1e-6f);

  std::vector<std::string> files;
  jsonl.clear();
  for (const auto& f : clipdex::test::fixture_image_files()) {
    files.push_back(clipdex::test::shared_path("fixtures/images/" + f));
    jsonl += nlohmann::json{{"image", files.back()}}.dump() + "\n";
  }
  const auto from_files = model.embed_image_files(files, true);
  EXPECT_LE(max_abs_diff(from_files, flatten(clipdex::test::embed_with_cli(model_path(), jsonl))), 1e-6f);
  ASSERT_EQ(from_files.size(), files.size() * static_cast<size_t>(model.dim()));

  std::vector<std::string> bytes;
  for (const auto& f : files) bytes.push_back(clipdex::read_file(f));
  std::vector<std::span<const uint8_t>> spans;
  for (const auto& b : bytes) spans.emplace_back(reinterpret_cast<const uint8_t*>(b.data()), b.size());
  EXPECT_EQ(model.embed_encoded_images(spans, true), from_files);

  // A decoded RGB buffer (with padded rows) embeds as the file it came from.
  const std::string chelsea = clipdex::test::shared_path("fixtures/images/chelsea.png");
  const auto im = clipdex::image::decode_image_file(chelsea);
  ASSERT_EQ(im.mode, clipdex::image::PixelMode::RGB);
  const size_t stride = static_cast<size_t>(im.width) * 3 + 5;
  std::vector<uint8_t> padded(stride * static_cast<size_t>(im.height));
  for (int y = 0; y < im.height; ++y)
    std::copy_n(&im.pixels[static_cast<size_t>(y) * im.width * 3], im.width * 3, &padded[y * stride]);
  const auto from_rgb = model.embed_rgb_images({{padded.data(), im.width, im.height, stride}}, false);
  EXPECT_EQ(from_rgb, model.embed_image_files({chelsea}, false));
}

TEST(Api, OneModelServesManyThreads) {
  const auto model = fixture_model();
  const std::vector<std::string> texts = {"a photo of a dog", "a bowl of soup", "a city at night"};
  const auto want = model.embed_texts(texts);
  std::vector<std::vector<float>> got(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < got.size(); ++t)
    threads.emplace_back([&, t] {
      const auto copy = model;  // copies share the loaded weights
      for (int i = 0; i < 5; ++i) got[t] = copy.embed_texts(texts);
    });
  for (auto& t : threads) t.join();
  for (const auto& g : got) EXPECT_EQ(g, want);
}

// ModelOptions::threads caps the compute pool for that model's calls only, from the calling thread.
TEST(Api, ThreadsOptionCapsComputeThreadsPerCaller) {
  auto& pool = clipdex::ThreadPool::global();
  const auto threads_used = [&] {
    std::mutex mu;
    std::set<std::thread::id> ids;
    pool.parallel_for(64, [&](size_t, size_t) {
      std::lock_guard lock(mu);
      ids.insert(std::this_thread::get_id());
    });
    return ids.size();
  };
  EXPECT_EQ(threads_used(), pool.size());
  {
    const clipdex::ThreadPool::Limit one(1);
    EXPECT_EQ(pool.active(), 1u);
    EXPECT_EQ(threads_used(), 1u);
  }
  EXPECT_EQ(pool.active(), pool.size());

  clipdex::ModelOptions o;
  o.precision = "fp32";
  o.threads = 1;
  const auto single = clipdex::Model::open(model_path(), o);
  const std::vector<std::string> texts = {"a photo of a dog", "a bowl of soup"};
  EXPECT_LE(max_abs_diff(single.embed_texts(texts), fixture_model().embed_texts(texts)), 1e-6f);
  EXPECT_EQ(pool.active(), pool.size());  // the cap ended with the call
}

TEST(Api, IndexSearchAndClassifyAgreeWithTheCli) {
  const std::string dir = clipdex::test::scratch_dir("api_library");
  const std::string photos = copy_fixture_photos(dir);
  const auto model = fixture_model();
  auto lib = clipdex::Library::open(dir + "/lib.db", clipdex::Library::Create);

  // Cancelled after the first batch: what was committed stays, a rerun finishes.
  std::atomic<bool> cancel{false};
  clipdex::IndexOptions io;
  io.batch_size = 2;
  io.threads = 1;
  io.cancel = &cancel;
  std::vector<std::pair<int64_t, int64_t>> progress;
  bool stop_early = true;
  io.on_progress = [&](int64_t done, int64_t total) {
    progress.emplace_back(done, total);
    if (stop_early) cancel = true;
  };
  EXPECT_THROW(lib.index(model, {photos}, io), clipdex::Cancelled);
  ASSERT_EQ(progress.size(), 1u);
  EXPECT_EQ(progress[0], (std::pair<int64_t, int64_t>{2, 8}));
  EXPECT_EQ(lib.images(), 2);
  cancel = false;
  stop_early = false;
  progress.clear();
  const auto report = lib.index(model, {photos}, io);
  EXPECT_EQ(report.embedded, 6);
  EXPECT_EQ(report.unchanged, 2);
  EXPECT_EQ(lib.images(), 8);
  for (size_t i = 1; i < progress.size(); ++i) EXPECT_GT(progress[i].first, progress[i - 1].first);
  EXPECT_EQ(progress.back().first, progress.back().second);

  // Searches: the same ranking and scores as `clipdex search --json`.
  const auto cli = nlohmann::json::parse(clipdex::test::run_cli("search 'a photo of a rocket' --minus night:0.5 --json -k 8 "
                                                                "--precision fp32 --db " + dir + "/lib.db")
                                             .out)["results"];
  clipdex::Query q;
  q.text("a photo of a rocket").minus("night", 0.5f).k = 8;
  const auto hits = lib.search(model, q);
  ASSERT_EQ(hits.size(), cli.size());
  for (size_t i = 0; i < hits.size(); ++i) {
    EXPECT_EQ(hits[i].path, cli[i]["path"]);
    EXPECT_NEAR(hits[i].score, cli[i]["score"].get<float>(), 1e-6);
    EXPECT_EQ(hits[i].date, cli[i]["date"]);
  }
  clipdex::Query jpeg;
  jpeg.text("a photo");
  jpeg.filters.formats = {"jpg"};
  const auto only = lib.search(model, jpeg);
  ASSERT_EQ(only.size(), 1u);
  EXPECT_EQ(fs::path(only[0].path).filename(), "rocket.jpg");
  EXPECT_EQ(only[0].format, "jpeg");
  clipdex::Query like;
  like.like(only[0].id).k = 3;
  for (const auto& h : lib.search(model, like)) EXPECT_NE(h.id, only[0].id);

  // The library reopens its own model: the same id, the same answers.
  clipdex::ModelOptions fp32;
  fp32.precision = "fp32";
  const auto remembered = clipdex::Library::open(dir + "/lib.db").model(fp32);
  EXPECT_EQ(remembered.id(), model.id());
  EXPECT_EQ(lib.search(remembered, q)[0].score, hits[0].score);

  // Zero-shot: the CLI's probabilities.
  const std::string rocket = photos + "/rocket.jpg";
  const auto preds = clipdex::classify(model, rocket, {"rocket", "cat", "coffee"}, {}, 3);
  const auto cli_preds = nlohmann::json::parse(clipdex::test::run_cli("classify --json --no-cache --precision fp32 --model " +
                                                                      model_path() + " --labels rocket,cat,coffee " + rocket)
                                                   .out)["predictions"];
  ASSERT_EQ(preds.size(), cli_preds.size());
  for (size_t i = 0; i < preds.size(); ++i) {
    EXPECT_EQ(preds[i].label, cli_preds[i]["label"]);
    EXPECT_NEAR(preds[i].probability, cli_preds[i]["probability"].get<float>(), 1e-6);
  }
}

TEST(Api, BadInputThrowsClearErrors) {
  EXPECT_THROW(clipdex::Model::open("/no/such/model"), clipdex::InputError);
  clipdex::ModelOptions bad;
  bad.precision = "fp8";
  EXPECT_THROW(clipdex::Model::open(model_path(), bad), clipdex::InputError);
  const auto model = fixture_model();
  const std::string dir = clipdex::test::scratch_dir("api_errors");
  std::ofstream(dir + "/broken.jpg") << "not a jpeg";
  EXPECT_THROW(model.embed_image_files({dir + "/broken.jpg"}), clipdex::InputError);
  EXPECT_THROW(model.embed_rgb_images({{nullptr, 10, 10, 0}}), clipdex::InputError);
  EXPECT_THROW(clipdex::Library::open(dir + "/missing.db"), clipdex::InputError);
  auto lib = clipdex::Library::open(dir + "/lib.db", clipdex::Library::Create);
  EXPECT_THROW(lib.model(), clipdex::InputError);  // nothing indexed: no model to reopen
  clipdex::Query empty;
  EXPECT_THROW(lib.search(model, empty), clipdex::InputError);
  clipdex::Query bad_date;
  bad_date.text("x").filters.since = "2023-13";
  EXPECT_THROW(lib.search(model, bad_date), clipdex::InputError);
  EXPECT_THROW(clipdex::classify(model, dir + "/broken.jpg", {"a", "b"}), clipdex::InputError);
}

TEST(Api, CApiGivesTheCppApisNumbersAndStatusCodes) {
  const auto model = fixture_model();
  clipdex_model* cm = nullptr;
  ASSERT_EQ(clipdex_model_open(model_path().c_str(), "fp32", &cm), CLIPDEX_OK) << clipdex_last_error();
  ASSERT_EQ(clipdex_model_dim(cm), model.dim());
  const char* texts[] = {"a photo of a cat", "a rocket"};
  std::vector<float> v(2 * static_cast<size_t>(model.dim()));
  ASSERT_EQ(clipdex_embed_texts(cm, texts, 2, 0, v.data()), CLIPDEX_OK);
  EXPECT_EQ(v, model.embed_texts({texts[0], texts[1]}));
  const std::string chelsea = clipdex::test::shared_path("fixtures/images/chelsea.png");
  const char* files[] = {chelsea.c_str(), "/no/such/file.jpg"};
  ASSERT_EQ(clipdex_embed_image_files(cm, files, 1, 1, v.data()), CLIPDEX_OK);
  EXPECT_EQ(std::vector<float>(v.begin(), v.begin() + model.dim()), model.embed_image_files({chelsea}, true));
  EXPECT_EQ(clipdex_embed_image_files(cm, files, 2, 1, v.data()), CLIPDEX_INPUT_ERROR);
  EXPECT_NE(std::string(clipdex_last_error()).find("/no/such/file.jpg"), std::string::npos) << clipdex_last_error();
  const char* null_text[] = {nullptr};
  EXPECT_EQ(clipdex_embed_texts(cm, null_text, 1, 0, v.data()), CLIPDEX_INPUT_ERROR);
  clipdex_library* lib = nullptr;
  EXPECT_EQ(clipdex_library_open("/no/such/dir/lib.db", 0, &lib), CLIPDEX_INPUT_ERROR);

  // Encoded bytes and RGB buffers: the C++ API's numbers.
  const std::string bytes = clipdex::read_file(chelsea);
  const uint8_t* data[] = {reinterpret_cast<const uint8_t*>(bytes.data())};
  const size_t sizes[] = {bytes.size()};
  ASSERT_EQ(clipdex_embed_encoded_images(cm, data, sizes, 1, 1, v.data()), CLIPDEX_OK) << clipdex_last_error();
  EXPECT_EQ(std::vector<float>(v.begin(), v.begin() + model.dim()), model.embed_image_files({chelsea}, true));
  const auto im = clipdex::image::decode_image_file(chelsea);
  const clipdex_rgb_image rgb{im.pixels.data(), im.width, im.height, 0};
  ASSERT_EQ(clipdex_embed_rgb_images(cm, &rgb, 1, 0, v.data()), CLIPDEX_OK) << clipdex_last_error();
  EXPECT_EQ(std::vector<float>(v.begin(), v.begin() + model.dim()),
            model.embed_rgb_images({{im.pixels.data(), im.width, im.height, 0}}));
  const clipdex_rgb_image empty{nullptr, 4, 4, 0};
  EXPECT_EQ(clipdex_embed_rgb_images(cm, &empty, 1, 0, v.data()), CLIPDEX_INPUT_ERROR);

  // Options, progress with cancellation, a filtered weighted query, image -> text, classify.
  clipdex_model_options mo{};
  mo.precision = "fp32";
  mo.threads = 1;
  clipdex_model* single = nullptr;
  ASSERT_EQ(clipdex_model_open_with(model_path().c_str(), &mo, &single), CLIPDEX_OK) << clipdex_last_error();
  const std::string dir = clipdex::test::scratch_dir("c_api_library");
  fs::create_directories(dir + "/photos");
  for (const auto& f : clipdex::test::fixture_image_files())
    fs::copy_file(clipdex::test::shared_path("fixtures/images/" + f), dir + "/photos/" + f);
  ASSERT_EQ(clipdex_library_open((dir + "/lib.db").c_str(), 1, &lib), CLIPDEX_OK);
  const std::string photos = dir + "/photos";
  const char* folders[] = {photos.c_str()};
  clipdex_index_options io{};
  io.batch_size = 2;
  io.on_progress = [](int64_t, int64_t, void* calls) { return ++*static_cast<int*>(calls) >= 2 ? 1 : 0; };
  int calls = 0;
  io.user = &calls;
  clipdex_index_report report{};
  EXPECT_EQ(clipdex_library_index_with(lib, single, folders, 1, &io, &report), CLIPDEX_CANCELLED);
  io.on_progress = nullptr;
  ASSERT_EQ(clipdex_library_index_with(lib, single, folders, 1, &io, &report), CLIPDEX_OK) << clipdex_last_error();
  EXPECT_EQ(report.unchanged, 4);
  EXPECT_EQ(report.embedded, 4);

  const clipdex_term terms[] = {{"a photo of a rocket", nullptr, -1, 0}, {"night", nullptr, -1, -0.5f}};
  const char* formats[] = {"png"};
  clipdex_query cq{};
  cq.terms = terms;
  cq.n_terms = 2;
  cq.k = 3;
  cq.formats = formats;
  cq.n_formats = 1;
  clipdex_results* r = nullptr;
  ASSERT_EQ(clipdex_library_query(lib, cm, &cq, &r), CLIPDEX_OK) << clipdex_last_error();
  auto cpp_lib = clipdex::Library::open(dir + "/lib.db");
  clipdex::Query q;
  q.text("a photo of a rocket").minus("night", 0.5f).k = 3;
  q.filters.formats = {"png"};
  const auto want = cpp_lib.search(model, q);
  ASSERT_EQ(clipdex_results_count(r), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(clipdex_results_path(r, i), want[i].path);
    EXPECT_EQ(clipdex_results_score(r, i), want[i].score);
  }
  clipdex_results_free(r);
  cq.since = "2023-13";
  EXPECT_EQ(clipdex_library_query(lib, cm, &cq, &r), CLIPDEX_INPUT_ERROR);

  const char* captions[] = {"a rocket", "a cat"};
  cpp_lib.add_texts(model, {captions[0], captions[1]});
  ASSERT_EQ(clipdex_library_texts_for_image(lib, cm, chelsea.c_str(), 2, &r), CLIPDEX_OK) << clipdex_last_error();
  const auto text_hits = cpp_lib.texts_for_image(model, chelsea, 2);
  ASSERT_EQ(clipdex_results_count(r), text_hits.size());
  for (size_t i = 0; i < text_hits.size(); ++i) EXPECT_EQ(clipdex_results_text(r, i), text_hits[i].text);
  clipdex_results_free(r);

  const char* labels[] = {"rocket", "cat", "coffee"};
  ASSERT_EQ(clipdex_classify(cm, chelsea.c_str(), labels, 3, nullptr, 0, 2, &r), CLIPDEX_OK) << clipdex_last_error();
  const auto preds = clipdex::classify(model, chelsea, {"rocket", "cat", "coffee"}, {}, 2);
  ASSERT_EQ(clipdex_results_count(r), preds.size());
  for (size_t i = 0; i < preds.size(); ++i) {
    EXPECT_EQ(clipdex_results_text(r, i), preds[i].label);
    EXPECT_EQ(clipdex_results_score(r, i), preds[i].probability);
  }
  clipdex_results_free(r);
  EXPECT_EQ(clipdex_classify(cm, chelsea.c_str(), labels, 1, nullptr, 0, 2, &r), CLIPDEX_INPUT_ERROR);

  clipdex_library_free(lib);
  clipdex_model_free(single);
  clipdex_model_free(cm);
  clipdex_model_free(nullptr);
  clipdex_results_free(nullptr);
}

// Parts indexed through the API (IndexOptions::shard) and merged (Library::merge, and the C API's
// clipdex_library_merge) hold what one index() of everything holds.
TEST(Api, ShardsAndMerge) {
  const std::string dir = clipdex::test::scratch_dir("api_shards");
  fs::create_directories(dir + "/photos");
  for (const auto& f : clipdex::test::fixture_image_files())
    fs::copy_file(clipdex::test::shared_path("fixtures/images/" + f), dir + "/photos/" + f);
  const auto model = fixture_model();
  auto whole = clipdex::Library::open(dir + "/whole.db", clipdex::Library::Create);
  whole.index(model, {dir + "/photos"});
  int64_t parts_total = 0;
  for (int i = 0; i < 2; ++i) {
    auto part = clipdex::Library::open(dir + "/part" + std::to_string(i) + ".db", clipdex::Library::Create);
    clipdex::IndexOptions o;
    o.shard = std::to_string(i) + "/2";
    parts_total += part.index(model, {dir + "/photos"}, o).embedded;
  }
  EXPECT_EQ(parts_total, whole.images());
  auto merged = clipdex::Library::open(dir + "/merged.db", clipdex::Library::Create);
  const auto r = merged.merge({dir + "/part0.db", dir + "/part1.db"});
  EXPECT_EQ(r.files_added, whole.images());
  EXPECT_EQ(r.images_added, whole.images());
  const auto a = whole.search(model, "a photo of a rocket", 8), b = merged.search(model, "a photo of a rocket", 8);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].path, b[i].path);
    EXPECT_NEAR(a[i].score, b[i].score, 1e-6);
  }
  clipdex::IndexOptions bad;
  bad.shard = "2/2";
  EXPECT_THROW(merged.index(model, {dir + "/photos"}, bad), clipdex::InputError);

  clipdex_library* lib = nullptr;
  ASSERT_EQ(clipdex_library_open((dir + "/merged.db").c_str(), 0, &lib), CLIPDEX_OK);
  const std::string part0 = dir + "/part0.db", missing = dir + "/missing.db";
  const char* dbs[] = {part0.c_str(), missing.c_str()};
  int64_t added = -1;
  ASSERT_EQ(clipdex_library_merge(lib, dbs, 1, &added), CLIPDEX_OK) << clipdex_last_error();
  EXPECT_EQ(added, 0);  // merged before: nothing changes
  EXPECT_EQ(clipdex_library_merge(lib, dbs, 2, &added), CLIPDEX_INPUT_ERROR);
  clipdex_library_free(lib);
}

TEST(Api, LibraryRecordsReadsRemovesAndCachesQueries) {
  const std::string dir = clipdex::test::scratch_dir("api_records");
  const std::string photos = copy_fixture_photos(dir);
  const auto model = fixture_model();
  auto lib = clipdex::Library::open(dir + "/lib.db", clipdex::Library::Create);
  lib.index(model, {photos});
  const auto before = lib.stats();
  EXPECT_EQ(before.images, 8);
  EXPECT_EQ(before.index_size, 8);
  EXPECT_EQ(before.index_type, "flat");

  // A file's record, its stored unit embedding, and its bytes as indexed.
  const std::string rocket = fs::weakly_canonical(photos + "/rocket.jpg").string();
  const int64_t id = lib.id_of(rocket);
  const auto record = lib.image(id);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->paths, std::vector<std::string>{rocket});
  EXPECT_EQ(record->hash.size(), 32u);
  EXPECT_GT(record->width, 0);
  const auto stored = lib.embedding(id);
  EXPECT_LE(max_abs_diff(stored, model.embed_image_files({rocket}, true)), 2e-6f);
  EXPECT_EQ(lib.read_image(id, 1 << 30), clipdex::read_file(rocket));
  EXPECT_THROW(lib.read_image(id, 10), clipdex::Library::TooLarge);
  EXPECT_THROW(lib.read_image(123456, 1 << 30), clipdex::Library::NotFound);
  EXPECT_THROW(lib.id_of(dir + "/elsewhere.jpg"), clipdex::InputError);
  EXPECT_FALSE(lib.image(123456));

  // The searcher remembers text queries; an uploaded image's bytes search like its file.
  clipdex::Searcher searcher(lib, model, {/*cache_entries=*/8, /*max_pixels=*/0});
  clipdex::Query q;
  q.text("a rocket").k = 3;
  const auto first = searcher.images(q);
  const auto again = searcher.images(q);
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0].id, again[0].id);
  EXPECT_EQ(searcher.cache().hits, 1);
  EXPECT_EQ(searcher.cache().misses, 1);
  clipdex::Query by_bytes, by_file;
  by_bytes.image_bytes(clipdex::read_file(rocket)).k = 1;
  by_file.image(rocket).k = 1;
  EXPECT_EQ(searcher.images(by_bytes)[0].id, id);
  EXPECT_EQ(searcher.images(by_file)[0].score, searcher.images(by_bytes)[0].score);
  clipdex::Query texts_filtered = by_file;
  texts_filtered.filters.add("format", "png");
  EXPECT_THROW(searcher.texts(texts_filtered), clipdex::InputError);
  EXPECT_THROW(texts_filtered.filters.add("colour", "red"), clipdex::InputError);
  EXPECT_THROW(texts_filtered.filters.add("min_width", "wide"), clipdex::InputError);

  // A changed file is not served as the indexed image; forgetting it leaves the rest.
  { std::ofstream(rocket, std::ios::app) << "x"; }
  EXPECT_THROW(lib.read_image(id, 1 << 30), clipdex::Library::Changed);
  EXPECT_EQ(lib.remove(id), std::vector<std::string>{rocket});
  EXPECT_FALSE(lib.image(id));
  EXPECT_EQ(lib.stats().images, 7);
  EXPECT_EQ(lib.stats().index_size, 7);
  for (const auto& h : searcher.images(q)) EXPECT_NE(h.id, id);
}

TEST(Api, FinetuneThroughCAndCpp) {
  const std::string dir = clipdex::test::scratch_dir("api_finetune");
  {
    std::ofstream pairs(dir + "/pairs.jsonl");
    for (const char* name : {"astronaut", "chelsea", "coffee", "motorcycle_right"})
      pairs << nlohmann::json{{"image", clipdex::test::shared_path(std::string("fixtures/images/") + name + ".png")},
                              {"text", std::string("a photo of ") + name}}
                   .dump()
            << "\n";
  }
  const std::string init = clipdex::test::shared_path("fixtures/lora/train-vit-tiny-qv-r4");
  clipdex::FinetuneOptions cpp;
  cpp.init = init;
  cpp.steps = 3;
  cpp.batch_size = 4;
  cpp.shuffle = false;
  cpp.lr = 1e-3;
  std::vector<double> losses;
  cpp.on_step = [&](int64_t, int64_t, int64_t, double loss, double) { losses.push_back(loss); };
  const auto r = clipdex::finetune(model_path(), dir + "/pairs.jsonl", dir + "/cpp", cpp);
  EXPECT_EQ(r.steps, 3);
  ASSERT_EQ(losses.size(), 3u);
  EXPECT_EQ(r.last_loss, losses.back());

  // The C API: stopped after step 1 by its callback, then resumed to the same adapter.
  clipdex_finetune_options c{};
  c.init = init.c_str();
  c.steps = 3;
  c.batch_size = 4;
  c.no_shuffle = 1;
  c.lr = 1e-3;
  c.on_step = [](int64_t step, int64_t, double, void*) { return step >= 1 ? 1 : 0; };
  clipdex_finetune_report report{};
  const std::string out = dir + "/c";
  EXPECT_EQ(clipdex_finetune(model_path().c_str(), (dir + "/pairs.jsonl").c_str(), out.c_str(), &c, &report),
            CLIPDEX_CANCELLED);
  c.on_step = nullptr;
  ASSERT_EQ(clipdex_finetune(model_path().c_str(), (dir + "/pairs.jsonl").c_str(), out.c_str(), &c, &report), CLIPDEX_OK)
      << clipdex_last_error();
  EXPECT_EQ(report.resumed_at, 1);
  EXPECT_EQ(report.steps, 2);
  EXPECT_EQ(report.last_loss, losses.back());
  EXPECT_EQ(clipdex::read_file(out + "/adapter_model.safetensors"), clipdex::read_file(dir + "/cpp/adapter_model.safetensors"));
  EXPECT_EQ(clipdex_finetune(model_path().c_str(), "/nonexistent.jsonl", out.c_str(), nullptr, nullptr), CLIPDEX_INPUT_ERROR);
}
