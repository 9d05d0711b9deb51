// Integrity under real use (each finding of the hostile-user review, reproduced as a test):
// concurrent writers, a server beside an external indexer, damaged and foreign index files,
// symlink swaps, chunked and slow clients, cross-site writes and foreign Host headers, a busy
// port, bounded caches, and the CLI's number checks, exit codes and hostile file names.
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/base64.h"
#include "core/mapped_file.h"
#include "image/decode.h"
#include "image/probe.h"
#include "pipeline/library.h"
#include "server/pixel_budget.h"
#include "server/request_policy.h"
#include "server/server.h"
#include "test_scenarios.h"
#include "test_util.h"

using namespace clipdex;
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

std::string model_dir() { return test::shared_path("fixtures/models/vit-tiny/hf"); }

json cli_json(const std::string& args) {
  const auto r = test::run_cli(args);
  EXPECT_EQ(r.exit_code, 0) << args;
  return json::parse(r.out.empty() ? "{}" : r.out);
}

size_t searchable(const std::string& db) {
  return cli_json("search --db " + db + " --json -k 10000 \"a photo\"")["results"].size();
}

int64_t catalog_images(const std::string& db) { return pipeline::Library(db).catalog().stats().contents; }

// Runs a shell command line with stdout and stderr in files; returns the exit code.
int sh(const std::string& cmd) {
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string bin() { return CLIPDEX_BINARY; }


// A raw TCP connection for what httplib's client will not send (trickled headers, chunked).
class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~RawConnection() { close(fd_); }
  bool send_text(const std::string& s) { return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size()); }
  std::string read_some(int timeout_ms = 5000) {
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }
  bool connected = false;

 private:
  int fd_ = -1;
};

std::string library_with(const std::string& name, int images, int first = 0) {
  const std::string dir = test::scratch_dir(name);
  test::make_images(dir + "/a", first, images);
  EXPECT_EQ(test::run_cli("index " + dir + "/a --quiet --db " + dir + "/lib.db --model " + model_dir()).exit_code, 0);
  return dir;
}

}  // namespace

TEST(Integrity, ConcurrentIndexersWaitForEachOther) {
  const std::string dir = test::scratch_dir("two-writers");
  test::make_images(dir + "/a", 0, 40);
  const std::string db = dir + "/lib.db";
  // This process holds the writer lock while two indexers start over the same folder, so both
  // must wait however fast the machine is (started bare, the first may finish before the second
  // looks at the lock).
  auto lib = pipeline::Library(db);
  ASSERT_TRUE(lib.acquire_writer("test", pipeline::WriterLock::Wait::No));
  const std::string cmd = bin() + " index " + dir + "/a --quiet --batch 4 --db " + db + " --model " + model_dir();
  std::thread first([&] { EXPECT_EQ(sh(cmd + " >" + dir + "/out1 2>" + dir + "/err1"), 0); });
  std::thread second([&] { EXPECT_EQ(sh(cmd + " >" + dir + "/out2 2>" + dir + "/err2"), 0); });
  const auto waiting = [&](const std::string& err) {
    return fs::exists(err) && read_file(err).find("waiting: the library is being written by pid") != std::string::npos;
  };
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (!(waiting(dir + "/err1") && waiting(dir + "/err2")) && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  // Each said for whom it waits.
  EXPECT_NE(read_file(dir + "/err1").find("(test)"), std::string::npos);
  EXPECT_NE(read_file(dir + "/err2").find("(test)"), std::string::npos);
  lib.release_writer();
  first.join();
  second.join();
  // One embedded everything; the other went on waiting for it, then found nothing to do.
  const std::string out = read_file(dir + "/out1") + read_file(dir + "/out2");
  EXPECT_NE(out.find("40 embedded, 0 duplicates, 0 unchanged"), std::string::npos) << out;
  EXPECT_NE(out.find("0 embedded, 0 duplicates, 40 unchanged"), std::string::npos) << out;
  EXPECT_EQ(catalog_images(db), 40);
  EXPECT_EQ(searchable(db), 40u);
  // --no-wait: a busy library is exit code 4 at once.
  ASSERT_TRUE(lib.acquire_writer("test", pipeline::WriterLock::Wait::No));
  const auto busy = test::run_cli("index " + dir + "/a --quiet --no-wait --db " + db + " 2>" + dir + "/err3");
  EXPECT_EQ(busy.exit_code, 4);
  EXPECT_NE(read_file(dir + "/err3").find("(test)"), std::string::npos);
}

TEST(Integrity, ServerFollowsAnExternalIndexerAndNeverSavesAStaleIndex) {
  const std::string dir = library_with("serve-and-index", 9);
  const std::string db = dir + "/lib.db";
  test::Serve srv(db);
  ASSERT_GT(srv.port, 0);
  auto c = srv.client();
  auto count = [&] {
    auto r = c.Get("/api/v1/search?q=a%20photo&k=1000");
    return r && r->status == 200 ? json::parse(r->body)["results"].size() : size_t{0};
  };
  EXPECT_EQ(count(), 9u);
  // A cron job indexes more while the server runs: the server sees them at once.
  test::make_images(dir + "/b", 100, 36);
  ASSERT_EQ(test::run_cli("index " + dir + "/b --quiet --db " + db).exit_code, 0);
  EXPECT_EQ(count(), 45u);
  // A deletion through the server and another external run, interleaved.
  // The deleted image is one of the first library's (folder a), which the rerun below does not
  // revisit: which one ranks first depends on the CPU's kernels, its folder must not.
  int64_t first = -1;
  const json ranked = json::parse(c.Get("/api/v1/search?q=a%20photo&k=1000")->body);
  for (const auto& r : ranked["results"])
    if (r["path"].get<std::string>().find(dir + "/a/") == 0) {
      first = r["id"].get<int64_t>();
      break;
    }
  ASSERT_GE(first, 0);
  EXPECT_EQ(c.Delete(("/api/v1/images/" + std::to_string(first)).c_str())->status, 200);
  EXPECT_EQ(count(), 44u);
  test::make_images(dir + "/c", 200, 5);
  ASSERT_EQ(test::run_cli("index " + dir + "/c --quiet --db " + db).exit_code, 0);
  EXPECT_EQ(count(), 49u);
  EXPECT_EQ(srv.stop(), 0);
  // After the server stopped, the library on disk agrees with its catalog, and a rerun of
  // index has nothing to repair.
  EXPECT_EQ(catalog_images(db), 49);
  EXPECT_EQ(searchable(db), 49u);
  const auto rerun = test::run_cli("index " + dir + "/b " + dir + "/c --quiet --db " + db);
  EXPECT_NE(rerun.out.find("0 embedded"), std::string::npos) << rerun.out;
  EXPECT_EQ(searchable(db), 49u);
}

TEST(Integrity, DamagedOrForeignIndexFilesAreRebuiltNotTrusted) {
  const std::string dir = library_with("damaged-index", 12);
  // Other images: with the same ones its index file could be byte-identical to this one's.
  const std::string other = library_with("other-library", 12, 500);
  const std::string db = dir + "/lib.db", index = db + ".faiss";
  const json expected = cli_json("search --db " + db + " --json -k 12 \"a cat\"");
  const std::string good = read_file(index);
  std::mt19937 rng(7);
  std::string random(good.size(), '\0');
  for (auto& ch : random) ch = static_cast<char>(rng());
  const std::vector<std::pair<std::string, std::string>> damage = {
      {"truncated", good.substr(0, good.size() / 2)},
      {"empty", ""},
      {"random bytes", random},
      {"another library's index (same generation)", read_file(other + "/lib.db.faiss")},
  };
  for (const auto& [what, bytes] : damage) {
    std::ofstream(index, std::ios::binary | std::ios::trunc) << bytes;
    const std::string err = dir + "/err.txt";
    const auto r = test::run_cli("search --db " + db + " --json -k 12 \"a cat\" 2>" + err);
    ASSERT_EQ(r.exit_code, 0) << what;
    const json got = json::parse(r.out);
    ASSERT_EQ(got["results"].size(), 12u) << what;
    for (size_t i = 0; i < 12; ++i) {
      EXPECT_EQ(got["results"][i]["id"], expected["results"][i]["id"]) << what;
      EXPECT_NEAR(got["results"][i]["score"].get<double>(), expected["results"][i]["score"].get<double>(), 1e-5) << what;
      EXPECT_LE(got["results"][i]["score"].get<double>(), 1.0) << what;
    }
    EXPECT_NE(read_file(err).find("rebuilding it from the stored embeddings"), std::string::npos) << what;
    // The server too: searches work, and it stops cleanly (no abort).
    std::ofstream(index, std::ios::binary | std::ios::trunc) << bytes;
    test::Serve srv(db);
    auto c = srv.client();
    const auto s = c.Get("/api/v1/search?q=a%20cat&k=12");
    ASSERT_TRUE(s) << what;
    EXPECT_EQ(s->status, 200) << what;
    EXPECT_EQ(json::parse(s->body)["results"].size(), 12u) << what;
    EXPECT_EQ(srv.stop(), 0) << what << ": " << srv.stderr_text();
  }
}

TEST(Integrity, ServedFilesMustStillBeWhatWasIndexed) {
  const std::string dir = test::scratch_dir("served-files");
  fs::create_directories(dir + "/photos");
  for (const char* f : {"chelsea.png", "coffee.png", "rocket.jpg"})
    fs::copy_file(test::shared_path(std::string("fixtures/images/") + f), dir + "/photos/" + f);
  const std::string db = dir + "/lib.db";
  ASSERT_EQ(test::run_cli("index " + dir + "/photos --quiet --db " + db + " --model " + model_dir()).exit_code, 0);
  std::ofstream(dir + "/secret.txt") << "root:x:0:0:not for the web";
  test::Serve srv(db);
  auto c = srv.client();
  auto id_of = [&](const std::string& name) {
    const auto r = json::parse(c.Get("/api/v1/search?q=x&k=10")->body)["results"];
    for (const auto& h : r)
      if (fs::path(h["path"].get<std::string>()).filename() == name) return h["id"].get<int64_t>();
    return int64_t{-1};
  };
  const int64_t chelsea = id_of("chelsea.png"), coffee = id_of("coffee.png"), rocket = id_of("rocket.jpg");
  ASSERT_GE(chelsea, 0);
  // Unchanged: served byte for byte.
  auto ok = c.Get(("/images/" + std::to_string(chelsea)).c_str());
  ASSERT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, read_file(dir + "/photos/chelsea.png"));
  // Swapped for a symlink to a file outside the indexed folder: refused, not served.
  fs::remove(dir + "/photos/chelsea.png");
  fs::create_symlink(dir + "/secret.txt", dir + "/photos/chelsea.png");
  auto swapped = c.Get(("/images/" + std::to_string(chelsea)).c_str());
  EXPECT_EQ(swapped->status, 409);
  EXPECT_EQ(swapped->body.find("root:x"), std::string::npos);
  EXPECT_EQ(c.Get(("/thumbs/" + std::to_string(chelsea)).c_str())->status, 409);
  // Edited since indexing (same size, other bytes): refused.
  std::string bytes = read_file(dir + "/photos/coffee.png");
  bytes[bytes.size() / 2] ^= 0x55;
  std::ofstream(dir + "/photos/coffee.png", std::ios::binary | std::ios::trunc) << bytes;
  EXPECT_EQ(c.Get(("/images/" + std::to_string(coffee)).c_str())->status, 409);
  // Gone: 404.
  fs::remove(dir + "/photos/rocket.jpg");
  EXPECT_EQ(c.Get(("/images/" + std::to_string(rocket)).c_str())->status, 404);
}

TEST(Integrity, ChunkedBodiesSlowClientsAndSignals) {
  const std::string dir = library_with("slow-clients", 4);
  test::Serve srv(dir + "/lib.db");
  // A chunked body is refused before it is read (its size cannot be checked first).
  {
    RawConnection raw(srv.port);
    ASSERT_TRUE(raw.connected);
    raw.send_text("POST /api/v1/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n10\r\n{\"text\": \"a cat\"}\r\n");
    EXPECT_NE(raw.read_some().find("411"), std::string::npos);
  }
  // Ten clients trickling a header line every second do not starve anyone else.
  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < 10; ++i) {
    slow.push_back(std::make_unique<RawConnection>(srv.port));
    slow.back()->send_text("GET /healthz HTTP/1.1\r\n");
  }
  auto c = srv.client();
  for (int round = 0; round < 3; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    for (auto& s : slow) s->send_text("X-Slow: " + std::to_string(round) + "\r\n");
    const auto t0 = Clock::now();
    const auto r = c.Get("/healthz");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    // Starved, it would wait for a slow client to time out (10 s); 3 s leaves room for sanitizers.
    EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 3.0);
  }
  // SIGTERM with slow clients still connected ends within the grace period...
  const auto t0 = Clock::now();
  EXPECT_EQ(srv.stop(SIGTERM, 20), 0);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 10.0);
  // ... and a second signal ends it at once.
  test::Serve again(dir + "/lib.db");
  std::vector<std::unique_ptr<RawConnection>> stuck;
  for (int i = 0; i < 3; ++i) {
    stuck.push_back(std::make_unique<RawConnection>(again.port));
    stuck.back()->send_text("GET /healthz HTTP/1.1\r\n");
  }
  again.signal(SIGTERM);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto t1 = Clock::now();
  EXPECT_NE(again.stop(SIGINT, 5), -1);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t1).count(), 2.0);
}

TEST(Integrity, CrossSiteWritesAndForeignHostsAreRefused) {
  const std::string dir = library_with("cross-site", 3);
  test::make_images(dir + "/more", 50, 2);
  test::Serve srv(dir + "/lib.db", "--allow-host photos.lan");
  auto c = srv.client();
  const std::string body = json{{"paths", {dir + "/more"}}}.dump();
  // A page on another site posting to the index endpoint (as fetch or a form would).
  EXPECT_EQ(c.Post("/api/v1/index", {{"Origin", "http://evil.example"}}, body, "application/json")->status, 403);
  EXPECT_EQ(c.Post("/api/v1/index", {{"Sec-Fetch-Site", "cross-site"}}, body, "application/json")->status, 403);
  EXPECT_EQ(c.Post("/api/v1/index", body, "text/plain")->status, 415);
  httplib::MultipartFormDataItems form = {{"image", read_file(test::shared_path("fixtures/images/coffee.png")), "c.png", "image/png"}};
  EXPECT_EQ(c.Post("/api/v1/index", {{"Origin", "null"}}, form)->status, 403);
  EXPECT_EQ(json::parse(c.Get("/api/v1/stats")->body)["images"], 3);
  // DNS rebinding: a foreign name in Host is refused for reads too; IP literals, localhost
  // and --allow-host names are served.
  EXPECT_EQ(c.Get("/api/v1/search?q=cat", {{"Host", "evil.example:" + std::to_string(srv.port)}})->status, 403);
  EXPECT_EQ(c.Get("/api/v1/search?q=cat", {{"Host", "localhost:" + std::to_string(srv.port)}})->status, 200);
  EXPECT_EQ(c.Get("/api/v1/search?q=cat", {{"Host", "photos.lan"}})->status, 200);
  // The same-origin page itself (and curl, which sends no Origin) may write.
  const std::string self = "http://127.0.0.1:" + std::to_string(srv.port);
  EXPECT_EQ(c.Post("/api/v1/index", {{"Origin", self}}, body, "application/json")->status, 200);
  EXPECT_EQ(json::parse(c.Get("/api/v1/stats")->body)["images"], 5);

  // Policy on a non-loopback address: writes need a token.
  server::RequestPolicy open_lan;
  open_lan.writes_enabled = false;
  const auto refusal = server::check_request(open_lan, "POST", "/api/v1/index", {{"content-type", "application/json"}});
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->status, 403);
  EXPECT_FALSE(server::check_request(open_lan, "GET", "/api/v1/search", {{"host", "192.168.1.5:8080"}}));
  EXPECT_TRUE(server::is_loopback_address("127.0.0.1"));
  EXPECT_TRUE(server::is_loopback_address("::1"));
  EXPECT_FALSE(server::is_loopback_address("0.0.0.0"));
  EXPECT_FALSE(server::is_loopback_address("192.168.1.5"));
}

TEST(Integrity, ASecondServerOnABusyPortFails) {
  const std::string dir = library_with("busy-port", 2);
  test::Serve first(dir + "/lib.db");
  ASSERT_GT(first.port, 0);
  const std::string err = dir + "/err.txt";
  EXPECT_EQ(sh(bin() + " serve --db " + dir + "/lib.db --port " + std::to_string(first.port) + " >/dev/null 2>" + err), 3);
  EXPECT_NE(read_file(err).find("cannot listen"), std::string::npos) << read_file(err);
  EXPECT_EQ(first.client().Get("/healthz")->status, 200);
}

TEST(Integrity, CachesAndDecodeMemoryAreBounded) {
  const std::string dir = library_with("bounded-caches", 2);
  // A server with small cache caps: thumbnails (one per image and size asked for) and zero-shot
  // class embeddings (one per distinct label set) stay within them.
  server::ServerOptions opt;
  opt.port = 0;
  opt.api.cache_dir = dir + "/cache";
  opt.api.thumb_cache_files = 5;
  opt.api.class_cache_files = 4;
  server::Server srv(Library::open(dir + "/lib.db"), Model::open(model_dir()), opt);
  const int port = srv.bind();
  std::thread run([&] { srv.run(); });
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(30, 0);
  const auto id = json::parse(c.Get("/api/v1/search?q=x&k=1")->body)["results"][0]["id"].get<int64_t>();
  for (int size = 1001; size <= 1024; size += 23)  // the documented range reaches 1024
    EXPECT_EQ(c.Get(("/thumbs/" + std::to_string(id) + "?size=" + std::to_string(size)).c_str())->status, 200);
  EXPECT_EQ(c.Get(("/thumbs/" + std::to_string(id) + "?size=1025").c_str())->status, 400);
  for (int size = 16; size < 16 + 20; ++size)
    ASSERT_EQ(c.Get(("/thumbs/" + std::to_string(id) + "?size=" + std::to_string(size)).c_str())->status, 200);
  for (int i = 0; i < 12; ++i) {
    const json req = {{"id", id}, {"labels", {"cat " + std::to_string(i), "dog"}}};
    ASSERT_EQ(c.Post("/api/v1/classify", req.dump(), "application/json")->status, 200);
  }
  srv.stop();
  run.join();
  auto count = [](const std::string& d) {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(d)) ++n;
    return n;
  };
  EXPECT_EQ(count(dir + "/cache/thumbs"), 5u);
  EXPECT_EQ(count(dir + "/cache/zeroshot"), 4u);
  // Decode memory: reservations come from the header and never exceed the budget.
  for (const auto& f : test::fixture_image_files()) {
    const std::string bytes = read_file(test::shared_path("fixtures/images/" + f));
    const auto span = std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    const auto size = image::probe_size(span);
    ASSERT_TRUE(size) << f;
    const auto im = image::decode_image(span, {1u << 30, false});
    EXPECT_EQ(size->first, static_cast<uint32_t>(im.width)) << f;
    EXPECT_EQ(size->second, static_cast<uint32_t>(im.height)) << f;
  }
  server::PixelBudget budget(1000);
  std::atomic<uint64_t> peak{0};
  std::vector<std::thread> users;
  for (int i = 0; i < 8; ++i)
    users.emplace_back([&] {
      for (int j = 0; j < 50; ++j) {
        const auto lease = budget.reserve(400);
        uint64_t now = budget.in_use(), seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
      }
    });
  for (auto& t : users) t.join();
  EXPECT_LE(peak.load(), 1000u);
  EXPECT_EQ(budget.in_use(), 0u);
}

TEST(Integrity, CliValidatesNumbersAndEscapesHostileNames) {
  const std::string dir = library_with("cli-checks", 2);
  const std::string db = dir + "/lib.db";
  // A mistyped --db is an error, not a new empty library.
  EXPECT_EQ(test::run_cli("search --db " + dir + "/typo.db cat 2>/dev/null").exit_code, 2);
  EXPECT_FALSE(fs::exists(dir + "/typo.db"));
  for (const char* bad : {"-k -1", "-k 0", "-k 100001", "--min-score nan", "--min-score 2"})
    EXPECT_EQ(test::run_cli("search --db " + db + " cat " + bad + " 2>/dev/null").exit_code, 2) << bad;
  EXPECT_EQ(test::run_cli("serve --db " + db + " --port 70000 2>/dev/null").exit_code, 2);
  EXPECT_EQ(test::run_cli("serve --db " + dir + "/typo.db --port 0 2>/dev/null").exit_code, 2);
  // File names with a newline, an escape sequence and invalid UTF-8.
  const std::string names = dir + "/names";
  fs::create_directories(names);
  const std::string src = test::shared_path("fixtures/images/coffee.png");
  const std::vector<std::string> hostile = {"two\nlines.png", "esc\x1b[2Jclear.png", std::string("bad\xff\xfe") + ".png"};
  for (size_t i = 0; i < hostile.size(); ++i)
    std::ofstream(names + "/" + hostile[i], std::ios::binary) << read_file(src) << i;
  const std::string ndb = dir + "/names.db";
  ASSERT_EQ(test::run_cli("index " + names + " --quiet --db " + ndb + " --model " + model_dir()).exit_code, 0);
  const auto text = test::run_cli("search --db " + ndb + " -k 3 coffee");
  ASSERT_EQ(text.exit_code, 0);
  size_t lines = 0;
  for (char ch : text.out) lines += ch == '\n';
  EXPECT_EQ(lines, 3u) << text.out;  // no forged line
  EXPECT_EQ(text.out.find('\x1b'), std::string::npos);
  EXPECT_NE(text.out.find("two\\x0alines.png"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("bad\\xff\\xfe.png"), std::string::npos) << text.out;
  const json j = cli_json("search --db " + ndb + " -k 3 --json coffee");
  bool recovered = false;
  for (const auto& h : j["results"])
    if (h.contains("path_base64")) {
      const auto raw = base64_decode(h["path_base64"].get<std::string>());
      recovered = std::string(raw.begin(), raw.end()) == fs::weakly_canonical(names).string() + "/" + hostile[2];
    }
  EXPECT_TRUE(recovered) << j.dump();
  // index exits 1 when some files failed (and says so), 0 otherwise.
  std::ofstream(names + "/broken.png") << "not a png";
  EXPECT_EQ(test::run_cli("index " + names + " --quiet --db " + ndb + " 2>/dev/null").exit_code, 1);
}
