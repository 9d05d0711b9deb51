// The request side of bench/soak: mixed traffic against a running `clipdex serve` for a bounded
// time — text searches (repeated and distinct), image uploads, more-like-this, zero-shot,
// thumbnails, stats — from several clients, printing one JSON line per interval (requests,
// errors, p50 / p99 latency, and the server's RSS read from /proc/PID/status).
//   build/bench/soak_client --port P --pid PID --image FILE [--clients 4] [--seconds 600] [--interval 30]
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/mapped_file.h"

using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

double rss_mb(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return -1;
}

struct Window {
  std::mutex mu;
  std::vector<double> latencies;
  size_t errors = 0;
  std::vector<std::string> samples;  // first few error descriptions
};

}  // namespace

int main(int argc, char** argv) {
  int port = 0, pid = 0, clients = 4;
  double seconds = 600, interval = 30;
  std::string image;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--port") port = std::atoi(argv[i + 1]);
    else if (a == "--pid") pid = std::atoi(argv[i + 1]);
    else if (a == "--clients") clients = std::atoi(argv[i + 1]);
    else if (a == "--seconds") seconds = std::atof(argv[i + 1]);
    else if (a == "--interval") interval = std::atof(argv[i + 1]);
    else if (a == "--image") image = argv[i + 1];
  }
  const std::string upload = clipdex::read_file(image);
  Window w;
  std::atomic<bool> stop{false};
  std::atomic<size_t> counter{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      httplib::Client cli("127.0.0.1", port);
      cli.set_read_timeout(60, 0);
      while (!stop) {
        const size_t n = counter.fetch_add(1);
        const auto t0 = Clock::now();
        std::string what;
        auto send = [&]() -> httplib::Result {
          switch (n % 10) {
            case 0: case 1: case 2: what = "search cached"; return cli.Get("/api/v1/search?k=10&q=a+photo+of+a+cat");
            case 3: case 4: what = "search new"; return cli.Get(("/api/v1/search?k=20&q=thing+" + std::to_string(n)).c_str());
            case 5: {
              what = "upload";
              httplib::MultipartFormDataItems form = {{"image", upload, "q.png", "image/png"}};
              return cli.Post("/api/v1/search/image", form);
            }
            case 6: what = "like"; return cli.Post("/api/v1/search", json{{"id", 1 + static_cast<int>(n % 8)}, {"k", 5}}.dump(), "application/json");
            case 7:
              what = "classify";
              return cli.Post("/api/v1/classify",
                              json{{"id", 1 + static_cast<int>(n % 8)}, {"labels", {"cat", "dog", "car " + std::to_string(n % 3)}}}.dump(),
                              "application/json");
            case 8: what = "thumb"; return cli.Get(("/thumbs/" + std::to_string(1 + n % 8) + "?size=" + std::to_string(64 + n % 4 * 64)).c_str());
            default: what = "stats"; return cli.Get("/api/v1/stats");
          }
        };
        const auto r = send();
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        // Deleted-meanwhile ids (404) are not errors: the indexer beside it removes images.
        const bool ok = r && (r->status == 200 || (r->status == 404 && (what == "like" || what == "classify" || what == "thumb")));
        std::lock_guard lock(w.mu);
        w.latencies.push_back(ms);
        if (!ok) {
          ++w.errors;
          if (w.samples.size() < 5) w.samples.push_back(what + ": " + (r ? std::to_string(r->status) + " " + r->body.substr(0, 200) : "no response"));
        }
        (void)c;
      }
    });
  const auto start = Clock::now();
  size_t total = 0, total_errors = 0;
  while (std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
    std::this_thread::sleep_for(std::chrono::duration<double>(std::min(interval, seconds)));
    std::vector<double> lat;
    size_t errors;
    std::vector<std::string> samples;
    {
      std::lock_guard lock(w.mu);
      lat.swap(w.latencies);
      errors = w.errors;
      w.errors = 0;
      samples.swap(w.samples);
    }
    std::sort(lat.begin(), lat.end());
    total += lat.size();
    total_errors += errors;
    const auto pct = [&](double p) { return lat.empty() ? 0.0 : lat[std::min(lat.size() - 1, static_cast<size_t>(p * lat.size()))]; };
    std::printf("%s\n", json{{"t_s", std::lround(std::chrono::duration<double>(Clock::now() - start).count())},
                             {"requests", lat.size()}, {"errors", errors}, {"p50_ms", pct(0.5)}, {"p99_ms", pct(0.99)},
                             {"server_rss_mb", rss_mb(pid)}, {"error_samples", samples}}
                            .dump()
                            .c_str());
    std::fflush(stdout);
  }
  stop = true;
  for (auto& t : threads) t.join();
  std::printf("%s\n", json{{"total_requests", total}, {"total_errors", total_errors}}.dump().c_str());
  return total_errors == 0 ? 0 : 1;
}
