#include "train/linalg.h"

#include <cblas.h>

#include "core/thread_pool.h"

namespace clipdex::train {

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  auto run = [&](int64_t r0, int64_t r1) {
    const float* ar = trans_a ? a + r0 : a + r0 * lda;  // rows of op(A) are columns of a stored A^T
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                static_cast<int>(r1 - r0), static_cast<int>(n), static_cast<int>(k), alpha, ar, static_cast<int>(lda), b,
                static_cast<int>(ldb), beta, c + r0 * ldc, static_cast<int>(ldc));
  };
  auto& pool = ThreadPool::global();
  // Small products are not worth the hand-off.
  if (m < 32 || m * n * k < (int64_t{1} << 18) || pool.active() == 1) return run(0, m);
  pool.parallel_for(static_cast<size_t>(m), [&](size_t r0, size_t r1) { run(static_cast<int64_t>(r0), static_cast<int64_t>(r1)); });
}

}  // namespace clipdex::train
