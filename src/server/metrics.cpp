#include "server/metrics.h"

#include <fmt/format.h>

namespace clipdex::server {

void Metrics::observe(const std::string& endpoint, int status, double seconds) {
  std::lock_guard lock(mu_);
  ++requests_[{endpoint, status}];
  auto& h = latency_[endpoint];
  for (size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  ++h.count;
  h.sum += seconds;
}

std::string Metrics::render(const std::string& extra) const {
  std::lock_guard lock(mu_);
  std::string out;
  out += "# HELP clipdex_http_requests_total HTTP requests by endpoint and status.\n";
  out += "# TYPE clipdex_http_requests_total counter\n";
  for (const auto& [key, n] : requests_)
    out += fmt::format("clipdex_http_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n", key.first, key.second, n);
  out += "# HELP clipdex_http_request_duration_seconds Request latency by endpoint.\n";
  out += "# TYPE clipdex_http_request_duration_seconds histogram\n";
  for (const auto& [ep, h] : latency_) {
    for (size_t i = 0; i < kBuckets.size(); ++i)
      out += fmt::format("clipdex_http_request_duration_seconds_bucket{{endpoint=\"{}\",le=\"{}\"}} {}\n", ep, kBuckets[i], h.buckets[i]);
    out += fmt::format("clipdex_http_request_duration_seconds_bucket{{endpoint=\"{}\",le=\"+Inf\"}} {}\n", ep, h.count);
    out += fmt::format("clipdex_http_request_duration_seconds_sum{{endpoint=\"{}\"}} {}\n", ep, h.sum);
    out += fmt::format("clipdex_http_request_duration_seconds_count{{endpoint=\"{}\"}} {}\n", ep, h.count);
  }
  return out + extra;
}

}  // namespace clipdex::server
