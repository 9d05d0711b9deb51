#pragma once
// A dense fp32 tensor in host memory, row-major. The model keeps activations and weights in
// these; a backend reads and writes them through raw pointers.
#include <cstdint>
#include <numeric>
#include <vector>

namespace clipdex::kernels {

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;

  Tensor() = default;
  explicit Tensor(std::vector<int64_t> s) : shape(std::move(s)), data(static_cast<size_t>(count(shape)), 0.0f) {}
  Tensor(std::vector<int64_t> s, std::vector<float> d) : shape(std::move(s)), data(std::move(d)) {}

  static int64_t count(const std::vector<int64_t>& s) {
    return std::accumulate(s.begin(), s.end(), int64_t{1}, std::multiplies<>());
  }
  int64_t numel() const { return static_cast<int64_t>(data.size()); }
  bool empty() const { return data.empty(); }
  float* ptr() { return data.data(); }
  const float* ptr() const { return data.data(); }
  int64_t dim(size_t i) const { return shape.at(i); }
};

}  // namespace clipdex::kernels
