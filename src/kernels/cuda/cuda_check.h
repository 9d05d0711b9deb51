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

// Makes GPU `index` the calling thread's device and returns its properties; InputError naming
// `user` ("--device cuda", "GPU search") when no GPU is visible or there is no such index.
inline cudaDeviceProp open_device(int index, const char* user) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0)
    throw InputError(std::string(user) + ": no CUDA GPU is visible (driver missing, or none in this machine)");
  if (index < 0 || index >= count)
    throw InputError(std::string(user) + ": cuda:" + std::to_string(index) + " asked for, but this machine has " +
                     std::to_string(count) + " CUDA GPU(s)");
  check(cudaSetDevice(index), "cudaSetDevice");
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, index), "cudaGetDeviceProperties");
  return prop;
}

// After a kernel launch: launch errors (bad configuration) surface here, not at the next sync.
inline void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }

}  // namespace clipdex::kernels::cuda
