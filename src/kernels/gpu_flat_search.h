#pragma once
// Exact inner-product search on a GPU for vectors that fit in its memory: one GEMM for the
// scores, then a radix select of the top k per query; the same results as FAISS's IndexFlatIP
// (ids ordered by score, highest first; scores fp32). Built only with -DCLIPDEX_CUDA=ON.
#include <cstdint>
#include <memory>
#include <string>

namespace clipdex::kernels {

class GpuFlatSearch {
 public:
  virtual ~GpuFlatSearch() = default;
  virtual int64_t dim() const = 0;
  virtual int64_t size() const = 0;
  virtual std::string device() const = 0;
  // Appends n vectors [n, dim]; their ids continue from size().
  virtual void add(const float* vectors, int64_t n) = 0;
  virtual void reset() = 0;
  // scores / ids [nq, k]; rows with fewer than k vectors end in id -1, score -inf. Safe to call
  // from several threads (they take turns).
  virtual void search(const float* queries, int64_t nq, int64_t k, float* scores, int64_t* ids) = 0;
};

// Throws InputError when this build has no CUDA or GPU `device` cannot be used.
std::unique_ptr<GpuFlatSearch> make_gpu_flat_search(int device, int64_t dim);

}  // namespace clipdex::kernels
