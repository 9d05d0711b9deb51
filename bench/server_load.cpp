// Load test of the HTTP service on loopback: concurrent clients for a bounded time, reporting
// QPS and p50/p99 latency for cached (repeated) and uncached (distinct) text queries.
//   build/bench/server_load [--db DB] [--clients 4] [--seconds 5]
// Without --db it indexes the fixture images with the vit-tiny fixture model into a temporary library.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "clipdex/clipdex.h"
#include "server/server.h"

using namespace clipdex;
using Clock = std::chrono::steady_clock;

namespace {

struct Phase {
  double qps = 0, p50_ms = 0, p99_ms = 0;
  size_t requests = 0, errors = 0;
};

Phase run_phase(int port, int clients, double seconds, bool distinct) {
  std::atomic<size_t> counter{0}, errors{0};
  std::vector<std::vector<double>> lat(static_cast<size_t>(clients));
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      httplib::Client cli("127.0.0.1", port);
      while (Clock::now() < end && lat[c].size() < 1'000'000) {
        const size_t n = counter.fetch_add(1);
        // Spaces as '+': the query strings are plain words.
        const std::string q = distinct ? "a+photo+of+thing+number+" + std::to_string(n) : "a+photo+of+a+cat";
        const auto t0 = Clock::now();
        auto r = cli.Get(("/api/v1/search?k=10&q=" + q).c_str());
        lat[c].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if (!r || r->status != 200) ++errors;
      }
    });
  for (auto& t : threads) t.join();
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  Phase p;
  p.requests = all.size();
  p.errors = errors;
  p.qps = all.size() / seconds;
  if (!all.empty()) {
    p.p50_ms = all[all.size() / 2];
    p.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  std::string db;
  int clients = 4;
  double seconds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--db")) db = argv[i + 1];
    else if (!std::strcmp(argv[i], "--clients")) clients = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--seconds")) seconds = std::atof(argv[i + 1]);
  }
  const std::string shared = CLIPDEX_SHARED_DIR;
  std::optional<Library> lib;
  std::optional<Model> model;
  if (db.empty()) {
    const auto dir = std::filesystem::temp_directory_path() / "clipdex-server-load";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    db = (dir / "lib.db").string();
    lib = Library::open(db, Library::Create);
    model = Model::open(shared + "/fixtures/models/vit-tiny/hf");
    lib->index(*model, {shared + "/fixtures/images"});
  } else {
    lib = Library::open(db);
    model = lib->model();
  }
  server::ServerOptions opt;
  opt.port = 0;
  server::Server srv(*lib, *model, opt);
  const int port = srv.bind();
  std::thread t([&] { srv.run(); });
  std::printf("server_load: %d clients, %.1f s per phase, model %s\n", clients, seconds, model->id().c_str());
  for (const bool distinct : {false, true}) {
    const Phase p = run_phase(port, clients, seconds, distinct);
    std::printf("%-9s  %8.1f QPS  p50 %7.2f ms  p99 %7.2f ms  (%zu requests, %zu errors)\n",
                distinct ? "uncached" : "cached", p.qps, p.p50_ms, p.p99_ms, p.requests, p.errors);
  }
  srv.stop();
  t.join();
  return 0;
}
