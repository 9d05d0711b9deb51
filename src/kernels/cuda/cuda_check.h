#pragma once
// Every CUDA and cuBLASLt call is checked; a failure becomes a clipdex::Error naming the call.
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <string>

#include "core/error.h"

namespace clipdex::kernels::cuda {

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw Error(std::string("CUDA: ") + what + ": " + cudaGetErrorString(e));
}

inline void check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) throw Error(std::string("cuBLASLt: ") + what + ": status " + std::to_string(int(s)));
}

// After a kernel launch: launch errors (bad configuration) surface here, not at the next sync.
inline void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }

}  // namespace clipdex::kernels::cuda
