// Checking CUDA calls, usable from .cu files (which must not include fmt: nvcc cannot compile it):
//   CUDA_CHECK(expr)       throws tachyon::Error with file:line, the expression and CUDA's message
//   CUDA_CHECK_LAUNCH()    after a kernel launch: catches launch errors
//   CUDA_REQUIRE(cond, m)  a host-side precondition of a launcher; `m` is a plain string
#pragma once

#include <cuda_runtime.h>

namespace tachyon::cuda {

[[noreturn]] void throw_cuda(cudaError_t e, const char* expr, const char* file, int line);
[[noreturn]] void throw_precondition(const char* expr, const char* message, const char* file, int line);

}  // namespace tachyon::cuda

#define CUDA_CHECK(expr)                                                                 \
  do {                                                                                   \
    const cudaError_t tachyon_cuda_err_ = (expr);                                        \
    if (tachyon_cuda_err_ != cudaSuccess)                                                \
      ::tachyon::cuda::throw_cuda(tachyon_cuda_err_, #expr, __FILE__, __LINE__);         \
  } while (0)

#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())

#define CUDA_REQUIRE(cond, message)                                                      \
  do {                                                                                   \
    if (!(cond)) ::tachyon::cuda::throw_precondition(#cond, message, __FILE__, __LINE__); \
  } while (0)
