#include "kernels/cuda/cuda_check.h"

#include "model/error.h"

namespace tachyon::cuda {

void throw_cuda(cudaError_t e, const char* expr, const char* file, int line) {
  throw Error(fmt::format("CUDA error at {}:{}: {}: {} ({})", file, line, expr, cudaGetErrorString(e), cudaGetErrorName(e)));
}

void throw_precondition(const char* expr, const char* message, const char* file, int line) {
  throw Error(fmt::format("internal error at {}:{}: `{}` failed: {}", file, line, expr, message));
}

}  // namespace tachyon::cuda
