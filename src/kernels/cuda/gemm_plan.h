#pragma once
// A cuBLASLt GEMM in clipdex's row-major convention: y[m, n] = x[m, k] · W[n, k]ᵀ (+ beta·y),
// with an optional epilogue (bias, ReLU). Column-major that is Yᵀ[n, m] = op_T(W) · Xᵀ. A plan
// holds the descriptors and the algorithm cuBLASLt's heuristic picked for one shape and type set.
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <memory>

namespace clipdex::kernels::cuda {

class GemmPlan {
 public:
  // `bias_aligned`: any device pointer with the alignment the bias will have (for the heuristic).
  GemmPlan(cublasLtHandle_t lt, int64_t m, int64_t n, int64_t k, cudaDataType_t in, cudaDataType_t out,
           cublasLtEpilogue_t epilogue, size_t workspace_bytes, const void* bias_aligned);
  ~GemmPlan();
  GemmPlan(const GemmPlan&) = delete;
  GemmPlan& operator=(const GemmPlan&) = delete;

  void run(const void* w, const void* x, void* y, const void* bias, float beta, void* workspace, cudaStream_t s) const;

 private:
  void release();
  cublasLtHandle_t lt_;
  cublasLtMatmulDesc_t desc_ = nullptr;
  cublasLtMatrixLayout_t w_ = nullptr, x_ = nullptr, y_ = nullptr;
  cublasLtMatmulAlgo_t algo_{};
  size_t workspace_bytes_;
  bool has_bias_;
};

}  // namespace clipdex::kernels::cuda
