#pragma once
// What the vector-search benchmarks share: random unit vectors and a stopwatch.
#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace clipdex::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// n unit vectors of d dimensions ([n, d]), normal directions from `seed`.
inline std::vector<float> unit_vectors(size_t n, size_t d, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g;
  std::vector<float> out(n * d);
  for (size_t i = 0; i < n; ++i) {
    double norm = 0;
    for (size_t j = 0; j < d; ++j) {
      out[i * d + j] = g(rng);
      norm += double(out[i * d + j]) * out[i * d + j];
    }
    for (size_t j = 0; j < d; ++j) out[i * d + j] = static_cast<float>(out[i * d + j] / std::sqrt(norm));
  }
  return out;
}

}  // namespace clipdex::bench
