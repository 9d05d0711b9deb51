#pragma once
// Request counters and latency histograms per endpoint, in Prometheus text format.
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace clipdex::server {

class Metrics {
 public:
  void observe(const std::string& endpoint, int status, double seconds);
  // extra: gauges/counters appended as "name value" lines (already formatted)
  std::string render(const std::string& extra) const;

 private:
  static constexpr std::array<double, 12> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1.0,  2.5,   10.0};
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
};

}  // namespace clipdex::server
