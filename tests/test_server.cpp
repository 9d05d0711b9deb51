// The HTTP service against a live server on a random loopback port: every endpoint, the bad
// inputs (malformed JSON, bad parameters, unknown ids, missing token, oversized bodies), searches
// during indexing, graceful shutdown, and the web page in headless Chromium.
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/base64.h"
#include "core/mapped_file.h"
#include "image/decode.h"
#include "search/duplicates.h"
#include "search/filters.h"
#include "search/searcher.h"
#include "server/server.h"
#include "test_util.h"

using namespace clipdex;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::vector<std::string>& kImages = test::fixture_image_files();

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::scratch_dir("server-" + std::to_string(counter_++));
    fs::create_directories(dir_ + "/images");
    for (const auto& f : kImages) fs::copy_file(test::shared_path("fixtures/images/" + f), dir_ + "/images/" + f);
    model_ = test::shared_path("fixtures/models/vit-tiny/hf");
    const std::string adapter_option = adapter().empty() ? "" : " --adapter " + adapter();
    ASSERT_EQ(test::run_cli("index " + dir_ + "/images --quiet --db " + dir_ + "/lib.db --model " + model_ + adapter_option).exit_code, 0);
    std::ofstream(dir_ + "/captions.txt") << "a cat\na rocket launch\ncoffee in a cup\n";
    ASSERT_EQ(test::run_cli("index-texts " + dir_ + "/captions.txt --db " + dir_ + "/lib.db").exit_code, 0);
    // The server gets the public handles; the tests' reference searches use the same objects' internals.
    const Library library = Library::open(dir_ + "/lib.db");
    clipdex::ModelOptions load;
    load.adapter = adapter();
    const Model model = Model::open(model_, load);
    lib_ = library.internals();
    embedder_ = model.internals();
    server::ServerOptions opt;
    opt.port = 0;
    opt.threads = 4;
    opt.api.token = "secret";
    opt.api.cache_dir = dir_ + "/cache";
    opt.api.prompts_file = test::shared_path("clip/zeroshot_prompts.json");
    server_ = std::make_unique<server::Server>(library, model, opt);
    port_ = server_->bind();
    thread_ = std::thread([this] { server_->run(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_read_timeout(60, 0);
  }

  void TearDown() override {
    server_->stop();
    thread_.join();
  }

  json get_json(const std::string& path, int expect = 200) {
    auto r = client_->Get(path.c_str());
    EXPECT_TRUE(r) << path;
    if (!r) return {};
    EXPECT_EQ(r->status, expect) << path << ": " << r->body;
    return json::parse(r->body);
  }

  json post_json(const std::string& path, const std::string& body, int expect = 200, const std::string& token = "") {
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    auto r = client_->Post(path.c_str(), h, body, "application/json");
    EXPECT_TRUE(r) << path;
    if (!r) return {};
    EXPECT_EQ(r->status, expect) << path << " " << body << ": " << r->body;
    return json::parse(r->body);
  }

  std::string path_of(const std::string& f) { return fs::weakly_canonical(dir_ + "/images/" + f).string(); }
  virtual std::string adapter() const { return ""; }  // a LoRA adapter the server's model merges

  static inline int counter_ = 0;
  std::string dir_, model_;
  std::shared_ptr<pipeline::Library> lib_;
  std::shared_ptr<const pipeline::Embedder> embedder_;
  std::unique_ptr<server::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace

TEST_F(ServerTest, SearchEndpointsMatchTheLibrary) {
  search::Searcher s(lib_, embedder_);
  const auto want = s.by_text("a photo of a cat", {3, -1});
  const auto got = get_json("/api/v1/search?q=a%20photo%20of%20a%20cat&k=3");
  ASSERT_EQ(got["results"].size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(got["results"][i]["id"], want[i].id);
    EXPECT_EQ(got["results"][i]["path"], want[i].path);
    EXPECT_NEAR(got["results"][i]["score"].get<float>(), want[i].score, 1e-6);
    EXPECT_GT(got["results"][i]["width"].get<int>(), 0);
  }
  const auto post = post_json("/api/v1/search", R"({"text": "a photo of a cat", "k": 3})");
  EXPECT_EQ(post["results"], got["results"]);

  // By id: more like this, without the image itself.
  const int64_t rocket = *lib_->catalog().content_of_path(path_of("rocket.jpg"));
  const auto like = post_json("/api/v1/search", json{{"id", rocket}, {"k", 7}}.dump());
  EXPECT_EQ(like["results"].size(), 7u);
  for (const auto& r : like["results"]) EXPECT_NE(r["id"], rocket);

  // By image: base64 in JSON and multipart upload both find the image itself first.
  const std::string bytes = read_file(path_of("rocket.jpg"));
  const auto b64 = post_json("/api/v1/search", json{{"image_base64", base64_encode(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size())}, {"k", 1}}.dump());
  EXPECT_EQ(b64["results"][0]["id"], rocket);
  EXPECT_NEAR(b64["results"][0]["score"].get<double>(), 1.0, 1e-4);
  httplib::MultipartFormDataItems items = {{"image", bytes, "rocket.jpg", "image/jpeg"}, {"k", "2", "", ""}};
  auto up = client_->Post("/api/v1/search/image", items);
  ASSERT_TRUE(up);
  ASSERT_EQ(up->status, 200) << up->body;
  EXPECT_EQ(json::parse(up->body)["results"][0]["id"], rocket);
  EXPECT_EQ(json::parse(up->body)["results"].size(), 2u);

  // Terms: a weighted sum; the same single term as the plain form; cancelling terms are a 400.
  const auto one = post_json("/api/v1/search", R"({"terms": [{"text": "a photo of a cat", "weight": 2}], "k": 3})");
  EXPECT_EQ(one["results"], got["results"]);
  const auto mixed = post_json("/api/v1/search",
                               json{{"terms", {{{"text", "a rocket"}}, {{"id", rocket}, {"weight", 0.5}},
                                               {{"text", "night"}, {"weight", -0.5}}}},
                                    {"k", 7}}
                                   .dump());
  EXPECT_EQ(mixed["results"].size(), 7u);
  for (const auto& r : mixed["results"]) EXPECT_NE(r["id"], rocket);  // a positive id term is left out
  post_json("/api/v1/search", R"({"terms": [{"text": "night"}, {"text": "night", "weight": -1}]})", 400);
  post_json("/api/v1/search", R"({"terms": []})", 400);
  post_json("/api/v1/search", R"({"terms": [{"text": "x", "weight": "heavy"}]})", 400);
  post_json("/api/v1/search", R"({"terms": [{"text": "x"}], "text": "y"})", 400);

  // Paging: offset skips results; pages joined are the unpaged list; past the depth cap is a 400.
  const auto all = get_json("/api/v1/search?q=a%20photo%20of%20a%20cat&k=8");
  const auto p1 = get_json("/api/v1/search?q=a%20photo%20of%20a%20cat&k=3&offset=0");
  const auto p2 = post_json("/api/v1/search", R"({"text": "a photo of a cat", "k": 3, "offset": 3})");
  const auto p3 = get_json("/api/v1/search?q=a%20photo%20of%20a%20cat&k=3&offset=6");
  ASSERT_EQ(all["results"].size(), 8u);
  ASSERT_EQ(p3["results"].size(), 2u);
  for (size_t i = 0; i < 8; ++i) {
    const auto& page = i < 3 ? p1 : i < 6 ? p2 : p3;
    EXPECT_EQ(page["results"][i % 3]["id"], all["results"][i]["id"]) << i;
  }
  EXPECT_EQ(get_json("/api/v1/search?q=cat&k=3&offset=20")["results"].size(), 0u);
  EXPECT_EQ(client_->Get("/api/v1/search?q=cat&k=10&offset=9995")->status, 400);
  EXPECT_EQ(client_->Get("/api/v1/search?q=cat&offset=-1")->status, 400);
  post_json("/api/v1/search", R"({"text": "cat", "offset": "3"})", 400);

  // Near-duplicates: the same groups as the library call; a bad threshold is a 400.
  const auto dups = get_json("/api/v1/duplicates?threshold=0.8&limit=5");
  const auto direct = search::find_duplicates(*lib_, {0.8f, 5});
  ASSERT_EQ(dups["groups"].size(), direct.size());
  for (size_t g = 0; g < direct.size(); ++g) {
    ASSERT_EQ(dups["groups"][g]["images"].size(), direct[g].images.size());
    for (size_t i = 0; i < direct[g].images.size(); ++i)
      EXPECT_EQ(dups["groups"][g]["images"][i]["id"], direct[g].images[i].id);
  }
  get_json("/api/v1/duplicates?threshold=0", 400);
  get_json("/api/v1/duplicates?threshold=abc", 400);
  get_json("/api/v1/duplicates?limit=0", 400);

  // Image -> text over stored captions.
  const auto texts = post_json("/api/v1/search", json{{"id", rocket}, {"target", "texts"}, {"k", 3}}.dump());
  EXPECT_EQ(texts["results"].size(), 3u);
  EXPECT_TRUE(texts["results"][0].contains("text"));
}

TEST_F(ServerTest, FiltersMatchTheSearcherOverHttp) {
  // The same filters through GET parameters, the POST "filters" object and the image upload's
  // form fields give what the in-process searcher gives.
  search::Searcher s(lib_, embedder_);
  search::Query q{8, -1};
  search::add_filter_field(q.filter, "format", "png");
  search::add_filter_field(q.filter, "min_width", "300");
  const auto want = s.by_text("a photo", q);
  ASSERT_FALSE(want.empty());
  const auto by_get = get_json("/api/v1/search?q=a%20photo&k=8&format=png&min_width=300")["results"];
  const auto by_post =
      post_json("/api/v1/search", R"({"text": "a photo", "k": 8, "filters": {"format": ["png"], "min_width": 300}})")["results"];
  ASSERT_EQ(by_get.size(), want.size());
  ASSERT_EQ(by_post.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(by_get[i]["id"], want[i].id);
    EXPECT_EQ(by_post[i]["id"], want[i].id);
    EXPECT_EQ(by_get[i]["format"], "png");
    EXPECT_GE(by_get[i]["width"].get<int>(), 300);
    EXPECT_TRUE(by_get[i].contains("date"));
  }
  httplib::MultipartFormDataItems form = {{"image", read_file(dir_ + "/images/rocket.jpg"), "r.jpg", "image/jpeg"},
                                          {"format", "jpeg", "", ""}};
  auto up = client_->Post("/api/v1/search/image", form);
  ASSERT_TRUE(up);
  ASSERT_EQ(up->status, 200) << up->body;
  const auto jpeg_only = json::parse(up->body)["results"];
  ASSERT_EQ(jpeg_only.size(), 1u);
  EXPECT_EQ(jpeg_only[0]["path"], path_of("rocket.jpg"));
  // Bad filters are 400s that say why.
  EXPECT_NE(get_json("/api/v1/search?q=a&since=2023-13", 400)["error"].get<std::string>().find("not a date"), std::string::npos);
  post_json("/api/v1/search", R"({"text": "a", "filters": {"colour": "red"}})", 400);
  post_json("/api/v1/search", R"({"text": "a", "filters": {"format": 3.5}})", 400);
  post_json("/api/v1/search", R"({"text": "a", "filters": ["png"]})", 400);
  post_json("/api/v1/search", R"({"text": "a", "target": "texts", "filters": {"format": "png"}})", 400);
}

TEST_F(ServerTest, BadRequestsGetClearErrorsAndTheServerStaysUp) {
  get_json("/api/v1/search", 400);                        // no q
  get_json("/api/v1/search?q=cat&k=abc", 400);
  get_json("/api/v1/search?q=cat&k=0", 400);
  get_json("/api/v1/search?q=cat&min_score=7", 400);
  post_json("/api/v1/search", "{broken", 400);
  post_json("/api/v1/search", "[1,2]", 400);
  post_json("/api/v1/search", R"({"text": "a", "id": 1})", 400);
  post_json("/api/v1/search", R"({"id": 99999})", 404);
  post_json("/api/v1/search", R"({"image_base64": "!!!notbase64"})", 400);
  post_json("/api/v1/search", R"({"image_base64": "aGVsbG8gd29ybGQ="})", 400);  // not an image
  post_json("/api/v1/search", R"({"text": 5})", 400);
  const auto e = post_json("/api/v1/search", R"({"text": "\u00ff", "k": "many"})", 400);
  EXPECT_TRUE(e.contains("error"));
  httplib::MultipartFormDataItems junk = {{"image", "not an image at all", "x.jpg", "image/jpeg"}};
  auto up = client_->Post("/api/v1/search/image", junk);
  ASSERT_TRUE(up);
  EXPECT_EQ(up->status, 400);
  EXPECT_EQ(client_->Get("/images/99999")->status, 404);
  EXPECT_EQ(client_->Get("/images/abc")->status, 400);
  EXPECT_EQ(client_->Get("/thumbs/99999")->status, 404);
  EXPECT_EQ(client_->Get("/no/such/route")->status, 404);
  post_json("/api/v1/classify", R"({"labels": ["only-one"], "id": 1})", 400);
  post_json("/api/v1/classify", R"({"prompts": "NoSuchSet", "id": 1})", 400);
  // Bodies over the limit are refused without being read in full.
  auto big = client_->Post("/api/v1/search", std::string(21u << 20, 'x'), "application/json");
  EXPECT_TRUE(!big || big->status == 413);
  EXPECT_EQ(get_json("/healthz")["status"], "ok");
}

TEST_F(ServerTest, ImagesThumbnailsStatsAndMetrics) {
  const int64_t coffee = *lib_->catalog().content_of_path(path_of("coffee.png"));
  auto img = client_->Get(("/images/" + std::to_string(coffee)).c_str());
  ASSERT_EQ(img->status, 200);
  EXPECT_EQ(img->get_header_value("Content-Type"), "image/png");
  EXPECT_EQ(img->body, read_file(path_of("coffee.png")));
  auto th = client_->Get(("/thumbs/" + std::to_string(coffee) + "?size=64").c_str());
  ASSERT_EQ(th->status, 200);
  EXPECT_EQ(th->get_header_value("Content-Type"), "image/jpeg");
  const auto t = image::decode_image({reinterpret_cast<const uint8_t*>(th->body.data()), th->body.size()});
  EXPECT_EQ(std::max(t.width, t.height), 64);
  EXPECT_EQ(client_->Get(("/thumbs/" + std::to_string(coffee) + "?size=64").c_str())->body, th->body);  // cached
  EXPECT_EQ(client_->Get(("/thumbs/" + std::to_string(coffee) + "?size=5000").c_str())->status, 400);

  get_json("/api/v1/search?q=coffee");
  get_json("/api/v1/search?q=coffee");
  const auto st = get_json("/api/v1/stats");
  EXPECT_EQ(st["images"], 8);
  EXPECT_EQ(st["texts"], 3);
  EXPECT_EQ(st["index_type"], "flat");
  EXPECT_EQ(st["cache"]["hits"], 1);
  EXPECT_EQ(st["cache"]["misses"], 1);
  EXPECT_DOUBLE_EQ(st["cache"]["hit_rate"].get<double>(), 0.5);
  const auto m = client_->Get("/metrics")->body;
  EXPECT_NE(m.find("clipdex_http_requests_total{endpoint=\"search\",status=\"200\"} 2"), std::string::npos) << m;
  EXPECT_NE(m.find("clipdex_http_request_duration_seconds_bucket{endpoint=\"search\",le=\"+Inf\"} 2"), std::string::npos);
  EXPECT_NE(m.find("clipdex_query_cache_hits_total 1"), std::string::npos);
  EXPECT_NE(m.find("clipdex_index_images 8"), std::string::npos);
  const auto page = client_->Get("/");
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("<title>clipdex</title>"), std::string::npos);
}

TEST_F(ServerTest, ClassifyWithLabelsAndPromptSets) {
  const int64_t cat = *lib_->catalog().content_of_path(path_of("chelsea.png"));
  const auto p = post_json("/api/v1/classify", json{{"labels", {"cat", "dog", "rocket"}}, {"id", cat}, {"top", 2}}.dump());
  ASSERT_EQ(p["predictions"].size(), 2u);
  EXPECT_GE(p["predictions"][0]["probability"].get<double>(), p["predictions"][1]["probability"].get<double>());
  const auto q = post_json("/api/v1/classify", json{{"prompts", "CIFAR10"}, {"id", cat}, {"top", 3}}.dump());
  EXPECT_EQ(q["predictions"].size(), 3u);
}

TEST_F(ServerTest, WritesNeedTheTokenAndUpdateTheIndex) {
  const std::string more = dir_ + "/more";
  fs::create_directories(more);
  std::string bytes = read_file(test::shared_path("fixtures/images/chelsea.png")) + "x";  // new content, same picture
  std::ofstream(more + "/cat2.png", std::ios::binary) << bytes;
  const std::string body = json{{"paths", {more}}}.dump();
  post_json("/api/v1/index", body, 401);
  post_json("/api/v1/index", body, 401, "wrong");
  const auto r = post_json("/api/v1/index", body, 200, "secret");
  EXPECT_EQ(r["embedded"], 1);
  EXPECT_EQ(get_json("/api/v1/stats")["images"], 9);

  httplib::MultipartFormDataItems items = {{"image", read_file(test::shared_path("fixtures/images/rocket.jpg")) + "y", "r.jpg", "image/jpeg"}};
  httplib::Headers auth = {{"Authorization", "Bearer secret"}};
  auto up = client_->Post("/api/v1/index", auth, items);
  ASSERT_EQ(up->status, 200) << up->body;
  EXPECT_EQ(json::parse(up->body)["embedded"], 1);
  EXPECT_EQ(get_json("/api/v1/stats")["images"], 10);

  const int64_t coffee = *lib_->catalog().content_of_path(path_of("coffee.png"));
  const std::string del = "/api/v1/images/" + std::to_string(coffee);
  EXPECT_EQ(client_->Delete(del.c_str())->status, 401);
  auto d = client_->Delete(del.c_str(), auth);
  ASSERT_EQ(d->status, 200) << d->body;
  EXPECT_EQ(client_->Delete(del.c_str(), auth)->status, 404);
  EXPECT_EQ(get_json("/api/v1/stats")["images"], 9);
  const auto after = get_json("/api/v1/search?q=coffee&k=20");
  for (const auto& h : after["results"]) EXPECT_NE(h["id"], coffee);
}

TEST_F(ServerTest, SearchesRunWhileIndexing) {
  const std::string more = dir_ + "/bulk";
  fs::create_directories(more);
  for (int i = 0; i < 24; ++i)
    std::ofstream(more + "/" + std::to_string(i) + ".png", std::ios::binary)
        << read_file(test::shared_path("fixtures/images/" + kImages[i % 8])) + std::to_string(i);
  std::atomic<bool> done{false};
  std::thread indexer([&] {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(120, 0);
    auto r = c.Post("/api/v1/index", {{"Authorization", "Bearer secret"}}, json{{"paths", {more}}}.dump(), "application/json");
    EXPECT_TRUE(r && r->status == 200);
    done = true;
  });
  int searches = 0;
  while (!done && searches < 500) {
    auto r = client_->Get("/api/v1/search?q=a%20rocket&k=5");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    ++searches;
  }
  indexer.join();
  EXPECT_GT(searches, 0);
  EXPECT_EQ(get_json("/api/v1/stats")["images"], 32);
}

TEST(ServeCli, StopsGracefullyOnSigterm) {
  const std::string dir = test::scratch_dir("serve-cli");
  const std::string model = test::shared_path("fixtures/models/vit-tiny/hf");
  ASSERT_EQ(test::run_cli("index " + test::shared_path("fixtures/images") + " --quiet --db " + dir + "/lib.db --model " + model).exit_code, 0);
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    execl(CLIPDEX_BINARY, "clipdex", "serve", "--port", "0", "--precision", "fp32", "--db", (dir + "/lib.db").c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  FILE* f = fdopen(out[0], "r");
  char line[512] = {0};
  ASSERT_TRUE(fgets(line, sizeof line, f));
  const std::string first = line;
  const auto colon = first.rfind(':');
  const int port = std::stoi(first.substr(colon + 1));
  ASSERT_TRUE(fgets(line, sizeof line, f));  // the kernels the model runs on, chosen for this CPU
  EXPECT_EQ(std::string(line).rfind("clipdex: kernels fp32: ", 0), 0u) << line;
  httplib::Client c("127.0.0.1", port);
  EXPECT_EQ(c.Get("/healthz")->status, 200);
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_TRUE(fgets(line, sizeof line, f));
  EXPECT_EQ(std::string(line), "clipdex: stopped\n");
  fclose(f);
}

TEST_F(ServerTest, WebPageShowsResultsInHeadlessChromium) {
  std::string browser;
  for (const char* b : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"})
    if (fs::exists(b)) browser = b;
  ASSERT_FALSE(browser.empty()) << "headless Chromium is needed for this test (Debian package 'chromium')";
  // Pages of 3: the page must load the rest as it fills the window (8 images in all).
  const std::string url = "http://127.0.0.1:" + std::to_string(port_) + "/?q=a%20photo%20of%20a%20rocket&k=3";
  const std::string flags = " --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --user-data-dir=" + dir_ +
                            "/chrome --virtual-time-budget=15000 --window-size=1200,900 ";
  const std::string dom_file = dir_ + "/dom.html";
  ASSERT_EQ(std::system((browser + flags + "--dump-dom '" + url + "' > " + dom_file + " 2>/dev/null").c_str()), 0);
  const std::string dom = read_file(dom_file);
  size_t cards = 0;
  for (size_t p = 0; (p = dom.find("class=\"card result\"", p)) != std::string::npos; ++p) ++cards;
  EXPECT_EQ(cards, 8u) << dom.substr(0, 2000);
  EXPECT_NE(dom.find("8 results for"), std::string::npos);
  EXPECT_NE(dom.find("/thumbs/"), std::string::npos);
  EXPECT_NE(dom.find("href=\"/images/"), std::string::npos);  // each thumbnail opens the full-size image
  EXPECT_NE(dom.find("More like this"), std::string::npos);
  EXPECT_NE(dom.find("name=\"since\""), std::string::npos);  // the filter controls
  // Filters from the page address reach the API: one JPEG among the eight, and no PNG above 10k px wide.
  for (const auto& [filter, want] : std::vector<std::pair<std::string, size_t>>{{"format=jpeg", 1}, {"min_width=10000", 0}}) {
    const std::string furl = url + "&" + filter;
    ASSERT_EQ(std::system((browser + flags + "--dump-dom '" + furl + "' > " + dom_file + " 2>/dev/null").c_str()), 0);
    const std::string fdom = read_file(dom_file);
    size_t n = 0;
    for (size_t p = 0; (p = fdom.find("class=\"card result\"", p)) != std::string::npos; ++p) ++n;
    EXPECT_EQ(n, want) << filter << "\n" << fdom.substr(0, 2000);
    EXPECT_NE(fdom.find(want == 1 ? "rocket.jpg" : "No results for"), std::string::npos) << filter;
  }
  // The duplicates view shows the groups the API finds, each under its title.
  const auto groups = get_json("/api/v1/duplicates?threshold=0.8")["groups"];
  const std::string dups_url = "http://127.0.0.1:" + std::to_string(port_) + "/?duplicates=0.8";
  ASSERT_EQ(std::system((browser + flags + "--dump-dom '" + dups_url + "' > " + dom_file + " 2>/dev/null").c_str()), 0);
  const std::string dups_dom = read_file(dom_file);
  size_t titles = 0, dup_cards = 0, want_cards = 0;
  for (size_t p = 0; (p = dups_dom.find("class=\"group-title\"", p)) != std::string::npos; ++p) ++titles;
  for (size_t p = 0; (p = dups_dom.find("class=\"card result\"", p)) != std::string::npos; ++p) ++dup_cards;
  for (const auto& g : groups) want_cards += g["images"].size();
  EXPECT_EQ(titles, groups.size()) << dups_dom.substr(0, 2000);
  EXPECT_EQ(dup_cards, want_cards);
  EXPECT_NE(dups_dom.find(groups.empty() ? "No near-duplicates" : "groups of near-duplicates"), std::string::npos);

  const std::string shot = std::string(CLIPDEX_TEST_OUTPUT) + "/web-search.png";
  fs::create_directories(CLIPDEX_TEST_OUTPUT);
  ASSERT_EQ(std::system((browser + flags + "--screenshot=" + shot + " '" + url + "' > /dev/null 2>&1").c_str()), 0);
  EXPECT_GT(fs::file_size(shot), 10000u);
}

// A server started with a LoRA adapter says so: /stats names it and the page shows its badge.
class AdaptedServerTest : public ServerTest {
 protected:
  std::string adapter() const override { return test::shared_path("fixtures/lora/vit-tiny-qv-r4"); }
};

TEST_F(AdaptedServerTest, StatsAndThePageNameTheAdapter) {
  const auto st = get_json("/api/v1/stats");
  EXPECT_EQ(st["adapter"], fs::absolute(adapter()).lexically_normal().string());
  EXPECT_NE(st["model"].get<std::string>().find("+lora:"), std::string::npos);
  EXPECT_EQ(get_json("/api/v1/search?q=a%20photo%20of%20a%20rocket&k=1")["results"].size(), 1u);  // the library's model
  std::string browser;
  for (const char* b : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"})
    if (fs::exists(b)) browser = b;
  ASSERT_FALSE(browser.empty()) << "headless Chromium is needed for this test (Debian package 'chromium')";
  const std::string flags = " --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --user-data-dir=" + dir_ +
                            "/chrome --virtual-time-budget=5000 ";
  const std::string dom_file = dir_ + "/dom.html";
  const std::string url = "http://127.0.0.1:" + std::to_string(port_) + "/";
  ASSERT_EQ(std::system((browser + flags + "--dump-dom '" + url + "' > " + dom_file + " 2>/dev/null").c_str()), 0);
  const std::string dom = read_file(dom_file);
  EXPECT_NE(dom.find(">adapter: vit-tiny-qv-r4<"), std::string::npos) << dom.substr(0, 2000);
}
