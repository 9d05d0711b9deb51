#pragma once
// NumPy arrays handed to Python without copying: the array owns the std::vector it views.
#include <cstddef>
#include <vector>

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

namespace clipdex::python {

using FloatRows = nanobind::ndarray<nanobind::numpy, float, nanobind::ndim<2>>;

inline FloatRows to_numpy(std::vector<float>&& values, size_t rows, size_t cols) {
  auto* owned = new std::vector<float>(std::move(values));
  nanobind::capsule owner(owned, [](void* p) noexcept { delete static_cast<std::vector<float>*>(p); });
  return FloatRows(owned->data(), {rows, cols}, owner);
}

}  // namespace clipdex::python
