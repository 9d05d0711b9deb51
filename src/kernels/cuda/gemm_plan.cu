#include "kernels/cuda/gemm_plan.h"

#include "kernels/cuda/cuda_check.h"

namespace clipdex::kernels::cuda {

GemmPlan::GemmPlan(cublasLtHandle_t lt, int64_t m, int64_t n, int64_t k, cudaDataType_t in, cudaDataType_t out,
                   cublasLtEpilogue_t epilogue, size_t workspace_bytes, const void* bias_aligned)
    : lt_(lt),
      workspace_bytes_(workspace_bytes),
      has_bias_(epilogue == CUBLASLT_EPILOGUE_BIAS || epilogue == CUBLASLT_EPILOGUE_RELU_BIAS) {
  // fp32 accumulation always; CUBLAS_COMPUTE_32F never uses TF32, so fp32 runs are true fp32.
  check(cublasLtMatmulDescCreate(&desc_, CUBLAS_COMPUTE_32F, CUDA_R_32F), "MatmulDescCreate");
  const cublasOperation_t transpose = CUBLAS_OP_T;
  check(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_TRANSA, &transpose, sizeof(transpose)), "transa");
  check(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof(epilogue)), "epilogue");
  if (has_bias_)
    check(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias_aligned, sizeof(bias_aligned)),
          "bias");
  check(cublasLtMatrixLayoutCreate(&w_, in, k, n, k), "layout W");
  check(cublasLtMatrixLayoutCreate(&x_, in, k, m, k), "layout x");
  check(cublasLtMatrixLayoutCreate(&y_, out, n, m, n), "layout y");
  cublasLtMatmulPreference_t pref;
  check(cublasLtMatmulPreferenceCreate(&pref), "PreferenceCreate");
  check(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace_bytes,
                                             sizeof(workspace_bytes)),
        "workspace");
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const auto status = cublasLtMatmulAlgoGetHeuristic(lt, desc_, w_, x_, y_, y_, pref, 1, &result, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  if (status != CUBLAS_STATUS_SUCCESS || found == 0) {
    release();
    throw Error("cuBLASLt has no GEMM for " + std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k) +
                " in these types");
  }
  algo_ = result.algo;
}

GemmPlan::~GemmPlan() { release(); }

void GemmPlan::release() {
  if (y_) cublasLtMatrixLayoutDestroy(y_);
  if (x_) cublasLtMatrixLayoutDestroy(x_);
  if (w_) cublasLtMatrixLayoutDestroy(w_);
  if (desc_) cublasLtMatmulDescDestroy(desc_);
  y_ = x_ = w_ = nullptr;
  desc_ = nullptr;
}

void GemmPlan::run(const void* w, const void* x, void* y, const void* bias, float beta, void* workspace,
                   cudaStream_t s) const {
  if (has_bias_)
    check(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)), "bias");
  const float alpha = 1.0f;
  check(cublasLtMatmul(lt_, desc_, &alpha, w, w_, x, x_, &beta, y, y_, y, y_, &algo_, workspace, workspace_bytes_, s),
        "cublasLtMatmul");
}

}  // namespace clipdex::kernels::cuda
