#pragma once
// Row-major fp32 matrix products for training, with the rows of the result split over the
// process's thread pool (BLAS itself runs one thread per task, as in the inference kernels).
#include <cstdint>

namespace clipdex::train {

// C[m, n] = alpha * op(A) * op(B) + beta * C; op(A) is [m, k] (A^T when trans_a: A stored [k, m]),
// op(B) is [k, n] (B^T when trans_b: B stored [n, k]); lda / ldb / ldc are the stored row strides.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

}  // namespace clipdex::train
