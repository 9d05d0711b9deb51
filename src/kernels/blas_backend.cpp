// The portable CPU backend: fp32 GEMMs through OpenBLAS (cblas_sgemm), single-threaded inside
// pool tasks. Every other CPU backend falls back to blas_linear for a layer it cannot run.
#include <algorithm>

#include "core/thread_pool.h"
#include "kernels/cpu_ops.h"

namespace clipdex::kernels {

void blas_linear(const float* x, int64_t m, const LinearWeights& w, float* y, Activation act) {
  const int64_t n = w.out(), k = w.in();
  if (m == 0) return;
  const bool bias = !w.bias.empty();
  // The pool owns all parallelism (measured: OpenBLAS's own workers spent 14% of ViT-B/32 time
  // yielding against it).
  auto& pool = ThreadPool::global();
  if (m >= 64 * static_cast<int64_t>(pool.active())) {
    // Tall: each task takes a block of rows, then applies the activation to it while hot.
    pool.parallel_for(static_cast<size_t>(m), [&](size_t b, size_t e) {
      float* yb = y + b * n;
      if (bias)
        for (size_t i = b; i < e; ++i) std::copy_n(w.bias.ptr(), n, y + i * n);
      sgemm_nt(x + b * k, static_cast<int64_t>(e - b), k, w.weight.ptr(), n, yb, n, bias);
      apply_activation(yb, static_cast<int64_t>(e - b) * n, act);
    });
    return;
  }
  // Short (a text query): each task takes a block of output columns, i.e. of weight rows.
  const size_t col_blocks = static_cast<size_t>((n + 63) / 64);
  pool.parallel_for(col_blocks, [&](size_t b, size_t e) {
    const int64_t c0 = static_cast<int64_t>(b) * 64, c1 = std::min<int64_t>(n, static_cast<int64_t>(e) * 64);
    if (bias)
      for (int64_t i = 0; i < m; ++i) std::copy(w.bias.ptr() + c0, w.bias.ptr() + c1, y + i * n + c0);
    sgemm_nt(x, m, k, w.weight.ptr() + c0 * k, c1 - c0, y + c0, n, bias);
    if (act != Activation::None)
      for (int64_t i = 0; i < m; ++i) apply_activation(y + i * n + c0, c1 - c0, act);
  });
}

namespace {

class BlasBackend final : public CpuOpsBackend {
 public:
  std::string name() const override { return "cpu-fp32"; }
  std::string kernels() const override { return "fp32: OpenBLAS sgemm"; }
  Precision precision() const override { return Precision::Fp32; }
  void prepare(LinearWeights&) override {}
  void linear_f32(const float* x, int64_t m, const LinearWeights& w, float* y, Activation act) override {
    blas_linear(x, m, w, y, act);
  }
};

}  // namespace

std::unique_ptr<HostBackend> make_cpu_backend() { return std::make_unique<BlasBackend>(); }

}  // namespace clipdex::kernels
