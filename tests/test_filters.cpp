// Filtered search against brute force: a synthetic library of 50,000 clustered unit vectors
// with random folders, formats, sizes and dates (flat, HNSW and IVF-PQ), and the fixture photos
// through `clipdex search` with filters, combined and negative terms (every index type). The
// expected results are computed here from the vectors and the files themselves, not from the
// catalog's filter.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <utime.h>

#include <fmt/format.h>

#include "core/error.h"
#include "image/decode.h"
#include "image/encode.h"
#include "pipeline/embedder.h"
#include "search/filters.h"
#include "search/searcher.h"
#include "test_util.h"

using namespace clipdex;
namespace fs = std::filesystem;

namespace {

struct SyntheticImage {
  std::string path;
  int width = 0, height = 0;
  std::string format;
  std::optional<int64_t> taken_at;
  int64_t mtime = 0;  // seconds
  std::vector<float> v;
  int64_t id = -1;
  int64_t date() const { return taken_at ? *taken_at : mtime; }
};

float dot(const std::vector<float>& a, std::span<const float> b) {
  float s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

std::vector<float> unit(std::vector<float> v) {
  double n = 0;
  for (float x : v) n += double(x) * x;
  for (auto& x : v) x = static_cast<float>(x / std::sqrt(n));
  return v;
}

// Clustered like real embeddings (photos of the same things sit together), so approximate
// indexes have neighbourhoods to find.
std::vector<SyntheticImage> synthetic_library(size_t n, int dim, std::mt19937& rng) {
  std::normal_distribution<float> g;
  std::vector<std::vector<float>> centers(400);
  for (auto& c : centers) {
    c.resize(static_cast<size_t>(dim));
    for (auto& x : c) x = g(rng);
    c = unit(c);
  }
  const char* formats[] = {"jpeg", "jpeg", "jpeg", "jpeg", "jpeg", "jpeg", "png", "png", "heif", "webp"};
  std::vector<SyntheticImage> out(n);
  for (size_t i = 0; i < n; ++i) {
    auto& im = out[i];
    const auto& c = centers[rng() % centers.size()];
    im.v.resize(static_cast<size_t>(dim));
    for (int d = 0; d < dim; ++d) im.v[d] = c[d] + 0.09f * g(rng);
    im.v = unit(im.v);
    im.path = "/photos/d" + std::to_string(rng() % 50) + "/img" + std::to_string(i) + ".jpg";
    im.width = 100 + static_cast<int>(rng() % 4000);
    im.height = 100 + static_cast<int>(rng() % 3000);
    im.format = formats[rng() % 10];
    const int64_t y2010 = 1262304000, span = 15 * 365 * 86400LL;
    im.mtime = y2010 + static_cast<int64_t>(rng() % span);
    if (rng() % 10 < 6) im.taken_at = y2010 + static_cast<int64_t>(rng() % span);
  }
  return out;
}

struct NamedFilter {
  std::string name;
  store::ContentFilter filter;
  std::function<bool(const SyntheticImage&)> keep;
};

std::vector<NamedFilter> synthetic_filters() {
  std::vector<NamedFilter> fs;
  auto add = [&](std::string name, std::vector<std::pair<std::string, std::string>> fields,
                 std::function<bool(const SyntheticImage&)> keep) {
    store::ContentFilter f;
    for (const auto& [k, v] : fields) search::add_filter_field(f, k, v);
    fs.push_back({std::move(name), std::move(f), std::move(keep)});
  };
  const auto in_dir = [](const SyntheticImage& im, const std::string& d) { return im.path.rfind("/photos/" + d + "/", 0) == 0; };
  add("folder (2%)", {{"folder", "/photos/d7"}}, [=](const auto& im) { return in_dir(im, "d7"); });
  add("format heif (10%)", {{"format", "heic"}}, [](const auto& im) { return im.format == "heif"; });
  add("glob d1x (20%)", {{"path", "/photos/d1?/*"}},
      [](const auto& im) { return im.path.rfind("/photos/d1", 0) == 0 && im.path[11] == '/'; });
  add("year 2015 (7%)", {{"since", "2015"}, {"until", "2015"}}, [](const auto& im) {
    return im.date() >= 1420070400 && im.date() <= 1451606399;
  });
  add("wide jpeg (30%)", {{"format", "jpeg"}, {"min_width", "2000"}},
      [](const auto& im) { return im.format == "jpeg" && im.width >= 2000; });
  add("two folders, png, tall (0.3%)", {{"folder", "/photos/d3"}, {"folder", "/photos/d4"}, {"format", "png"}, {"min_height", "1000"}},
      [=](const auto& im) { return (in_dir(im, "d3") || in_dir(im, "d4")) && im.format == "png" && im.height >= 1000; });
  add("since 2012-03-15T12:00 (most)", {{"since", "2012-03-15T12:00"}},
      [](const auto& im) { return im.date() >= 1331812800; });
  add("nothing", {{"since", "2030"}}, [](const auto&) { return false; });
  return fs;
}

}  // namespace

TEST(Filters, SyntheticLibraryMatchesBruteForceForEveryIndexType) {
  const std::string dir = test::scratch_dir("filters_synthetic");
  auto embedder = pipeline::Embedder::open(test::shared_path("fixtures/models/vit-tiny/hf"));
  const int dim = embedder->dim();
  std::mt19937 rng(20261128);
  auto images = synthetic_library(50000, dim, rng);
  auto lib = std::make_shared<pipeline::Library>(dir + "/synthetic.db");
  ASSERT_TRUE(lib->acquire_writer("test", pipeline::WriterLock::Wait::No));
  for (size_t b = 0; b < images.size(); b += 5000) {
    store::CatalogChange change;
    for (size_t i = b; i < std::min(images.size(), b + 5000); ++i) {
      const auto& im = images[i];
      // mtime_ns counts the filesystem clock, whose epoch file_mtime_seconds(0) is in Unix seconds.
      store::FileRecord f{im.path, 1, (im.mtime - store::file_mtime_seconds(0)) * 1'000'000'000, -1, "indexed", ""};
      change.contents.push_back({"h" + std::to_string(i), im.width, im.height, {im.format, im.taken_at, "", ""}, im.v, {f}});
    }
    const auto ids = lib->apply(change);
    for (size_t i = 0; i < ids.size(); ++i) images[b + i].id = ids[i];
  }
  search::Searcher searcher(lib, embedder);
  std::unordered_map<int64_t, const SyntheticImage*> by_id;
  for (const auto& im : images) by_id[im.id] = &im;
  std::vector<std::vector<float>> queries;
  for (int q = 0; q < 8; ++q) {
    auto v = images[rng() % images.size()].v;  // near a cluster, as real queries are
    std::normal_distribution<float> g;
    for (auto& x : v) x += 0.09f * g(rng);
    queries.push_back(unit(v));
  }
  const auto filters = synthetic_filters();
  for (const std::string type : {"flat", "hnsw", "ivfpq"}) {
    lib->set_setting("index_type", type);
    lib->rebuild_vectors();
    double recall_sum = 0;
    int recall_n = 0;
    for (const auto& nf : filters) {
      double filter_recall = 0;
      int filter_n = 0;
      for (size_t qi = 0; qi < queries.size(); ++qi) {
        SCOPED_TRACE(fmt::format("{} / {} / query {}", type, nf.name, qi));
        const auto& qv = queries[qi];
        std::vector<std::pair<float, int64_t>> want;
        for (const auto& im : images)
          if (nf.keep(im)) want.push_back({dot(qv, im.v), im.id});
        std::sort(want.begin(), want.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
        for (auto [k, offset] : {std::pair<size_t, size_t>{10, 0}, {50, 20}}) {
          search::Query q;
          q.k = k;
          q.offset = offset;
          q.filter = nf.filter;
          const auto got = searcher.by_vector(qv, q);
          // Never silently short: k results whenever k match.
          ASSERT_EQ(got.size(), std::min(k, want.size() > offset ? want.size() - offset : 0));
          std::set<int64_t> expected_ids;
          for (size_t i = offset; i < offset + got.size(); ++i) expected_ids.insert(want[i].second);
          size_t found = 0;
          for (size_t i = 0; i < got.size(); ++i) {
            const auto* im = by_id.at(got[i].id);
            EXPECT_TRUE(nf.keep(*im)) << im->path;
            EXPECT_NEAR(got[i].score, dot(qv, im->v), 1e-5);  // exact scores, even from PQ codes
            if (i) {
              EXPECT_GE(got[i - 1].score, got[i].score);
            }
            found += expected_ids.count(got[i].id);
          }
          if (type == "flat") {
            for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].id, want[offset + i].second) << i;
          } else if (!got.empty()) {
            recall_sum += double(found) / double(got.size());
            filter_recall += double(found) / double(got.size());
            ++recall_n, ++filter_n;
          }
        }
      }
      if (filter_n) std::cout << "  " << type << ", " << nf.name << ": recall " << filter_recall / filter_n << "\n";
    }
    if (type != "flat") {
      const double recall = recall_sum / recall_n;
      std::cout << type << ": filtered recall against brute force " << recall << "\n";
      EXPECT_GE(recall, 0.95) << type;  // measured 0.999 (HNSW) and 0.99 (IVF-PQ)
    }
  }
}

TEST(Filters, DatesAndFieldsParseOrSayWhy) {
  using search::parse_date_bound;
  EXPECT_EQ(parse_date_bound("2023", false), 1672531200);
  EXPECT_EQ(parse_date_bound("2023", true), 1704067199);
  EXPECT_EQ(parse_date_bound("2024-02", true), 1709251199);  // leap February
  EXPECT_EQ(parse_date_bound("2023-05-17T10:30", false), 1684319400);
  EXPECT_EQ(parse_date_bound("2023-05-17 10:30:15", true), 1684319415);
  for (const char* bad : {"", "23", "2023-13", "2023-02-30", "2023-05-17X10:30", "yesterday", "2023-05-17T25:00", "2023-"})
    EXPECT_THROW(parse_date_bound(bad, false), InputError) << bad;
  EXPECT_EQ(search::format_date(1684319415), "2023-05-17T10:30:15");
  EXPECT_EQ(search::format_date(-1), "1969-12-31T23:59:59");
  store::ContentFilter f;
  search::add_filter_field(f, "format", "JPG,heic, png");
  EXPECT_EQ(f.formats, (std::vector<std::string>{"jpeg", "heif", "png"}));
  EXPECT_THROW(search::add_filter_field(f, "format", "psd"), InputError);
  EXPECT_THROW(search::add_filter_field(f, "min_width", "-3"), InputError);
  EXPECT_THROW(search::add_filter_field(f, "min_width", "12px"), InputError);
  EXPECT_THROW(search::add_filter_field(f, "colour", "red"), InputError);
}

namespace {

void set_mtime(const std::string& path, int64_t seconds) {
  const struct timespec times[2] = {{seconds, 0}, {seconds, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << path;
}

struct FixtureFile {
  std::string path;
  int64_t date = 0;
  int width = 0, height = 0;
  std::string format = "";
  std::vector<float> v = {};
};

struct Term {
  std::string text = "", image = "";  // one of them
  float weight = 1;
};

}  // namespace

// `clipdex search` with filters and combined / negative terms over the fixture photos in nested
// folders (PNG and JPEG, dated by mtime), for every index type, against scores computed here
// from `clipdex embed` vectors.
TEST(Filters, FixtureLibrarySearchesMatchBruteForce) {
  const std::string dir = test::scratch_dir("filters_fixture");
  const std::string fixtures = test::shared_path("fixtures/images");
  const std::string photos = dir + "/photos";
  const std::vector<std::pair<std::string, std::string>> layout = {
      {"a", "astronaut.png"}, {"a", "camera.png"}, {"a", "chelsea.png"},        {"b", "coffee.png"},
      {"b", "rocket.jpg"},    {"b", "logo.png"},   {"b/deep", "motorcycle_right.png"}, {"b/deep", "green_palette.png"}};
  std::vector<FixtureFile> files;
  int64_t date = 1577836800;  // 2020-01-01, then every 40 days
  for (const auto& [sub, name] : layout) {
    fs::create_directories(photos + "/" + sub);
    files.push_back({photos + "/" + sub + "/" + name});
    fs::copy_file(fixtures + "/" + name, files.back().path);
  }
  {  // a JPEG copy of the cat, so a format filter has a choice inside one folder
    const auto cat = image::decode_image_file(fixtures + "/chelsea.png");
    const auto jpg = image::encode_jpeg(cat, 80);
    std::ofstream(photos + "/a/chelsea-q80.jpg", std::ios::binary)
        .write(reinterpret_cast<const char*>(jpg.data()), static_cast<std::streamsize>(jpg.size()));
    files.push_back({photos + "/a/chelsea-q80.jpg"});
  }
  std::string input;
  for (auto& f : files) {
    f.date = date;
    set_mtime(f.path, date);
    date += 40 * 86400;
    image::SourceInfo info;
    (void)image::decode_image_file(f.path, {}, &info);
    f.width = info.width, f.height = info.height, f.format = info.format;
    ASSERT_FALSE(info.taken_at) << "the fixtures carry no EXIF date; the test dates them by mtime";
    input += nlohmann::json{{"image", f.path}}.dump() + "\n";
  }
  const std::string model = test::shared_path("fixtures/models/vit-tiny/hf");
  const auto vectors = test::embed_with_cli(model, input);
  ASSERT_EQ(vectors.size(), files.size());
  for (size_t i = 0; i < files.size(); ++i) files[i].v = vectors[i];
  auto text_vector = [&](const std::string& t) { return test::embed_with_cli(model, nlohmann::json{{"text", t}}.dump() + "\n").at(0); };

  struct Case {
    std::string args;  // CLI filter and term arguments
    std::vector<Term> terms;
    std::function<bool(const FixtureFile&)> keep;
    size_t k = 10, offset = 0;
  };
  const auto under = [&](const FixtureFile& f, const std::string& sub) { return f.path.rfind(photos + "/" + sub + "/", 0) == 0; };
  const std::vector<Case> cases = {
      {"'a cat' --folder " + photos + "/a", {{"a cat"}}, [&](const auto& f) { return under(f, "a"); }},
      {"'a cat' --minus 'a rocket:0.5' --format png", {{"a cat"}, {"a rocket", "", -0.5f}},
       [](const auto& f) { return f.format == "png"; }},
      {"--text coffee --image " + fixtures + "/rocket.jpg:0.5 --since 2020-03 --until 2020-10",
       {{"coffee"}, {"", fixtures + "/rocket.jpg", 0.5f}},
       [](const auto& f) { return f.date >= 1583020800 && f.date <= 1604188799; }},
      {"'a photo' --path '*/deep/*'", {{"a photo"}}, [&](const auto& f) { return under(f, "b/deep"); }},
      {"'a photo' --min-width 400 --min-height 300", {{"a photo"}},
       [](const auto& f) { return f.width >= 400 && f.height >= 300; }},
      {"'a photo' --folder " + photos + "/b --format jpg,png -k 2 --offset 1", {{"a photo"}},
       [&](const auto& f) { return under(f, "b"); }, 2, 1},
      {"'night' --minus 'day' --folder " + photos + "/a --folder " + photos + "/b/deep", {{"night"}, {"day", "", -1}},
       [&](const auto& f) { return under(f, "a") || under(f, "b/deep"); }},
      {"'a photo' --since 2030", {{"a photo"}}, [](const auto&) { return false; }},
  };
  for (const std::string type : {"flat", "hnsw", "ivfpq"}) {
    const std::string db = dir + "/" + type + ".db";
    ASSERT_EQ(test::run_cli("index " + photos + " --quiet --precision fp32 --index-type " + type + " --db " + db +
                            " --model " + model)
                  .exit_code,
              0);
    for (const auto& c : cases) {
      SCOPED_TRACE(type + ": search " + c.args);
      std::vector<float> q(files[0].v.size(), 0.0f);
      for (const auto& t : c.terms) {
        const auto u = t.text.empty() ? test::embed_with_cli(model, nlohmann::json{{"image", t.image}}.dump() + "\n").at(0)
                                      : text_vector(t.text);
        for (size_t d = 0; d < q.size(); ++d) q[d] += t.weight * u[d];
      }
      q = unit(q);
      std::vector<std::pair<float, std::string>> want;
      for (const auto& f : files)
        if (c.keep(f)) want.push_back({dot(q, f.v), f.path});
      std::sort(want.begin(), want.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
      want.erase(want.begin(), want.begin() + static_cast<std::ptrdiff_t>(std::min(c.offset, want.size())));
      if (want.size() > c.k) want.resize(c.k);
      const auto r = test::run_cli("search --json --precision fp32 --db " + db + " --model " + model + " " + c.args +
                                   (c.args.find(" -k ") == std::string::npos ? " -k 10" : ""));
      ASSERT_EQ(r.exit_code, 0) << r.out;
      const auto results = nlohmann::json::parse(r.out)["results"];
      ASSERT_EQ(results.size(), want.size()) << r.out;
      for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(results[i]["path"], want[i].second) << i;
        EXPECT_NEAR(results[i]["score"].get<float>(), want[i].first, 2e-4) << i;
        const auto& f = *std::find_if(files.begin(), files.end(), [&](const auto& x) { return x.path == want[i].second; });
        EXPECT_EQ(results[i]["format"], f.format);
        EXPECT_EQ(results[i]["date"], search::format_date(f.date));
        EXPECT_EQ(results[i]["date_source"], "file");
      }
    }
  }
  // Bad filters are errors that say why, not empty results.
  const std::string db = dir + "/flat.db";
  for (const char* bad : {"--since 2020-13", "--format psd", "--until yesterday"})
    EXPECT_NE(test::run_cli("search 'a cat' --db " + db + " --model " + model + " " + bad).exit_code, 0) << bad;
}
