// moe_combine (kernels/cuda/moe.h): y[t, :] (+)= out[r(t, 0), :] + ... + out[r(t, k-1), :], where r(t, j) is
// t*k + j or rows[t*k + j]; the slots summed in order from zero and then added to y, or stored
// (deterministic, as the CPU step sums them).
#include <algorithm>
#include <cstdint>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/moe.h"

namespace tachyon::cuda {

namespace {

// Four columns per thread when the rows allow 16-byte accesses.
__device__ __forceinline__ int64_t out_row(const int32_t* rows, int64_t t, int k, int j) {
  return rows ? rows[t * k + j] : t * k + j;
}

__global__ void moe_combine4_kernel(const float4* out, const int32_t* rows, int m, int k, int h4, bool accumulate, float4* y) {
  pdl_enter();  // launch.cuh: before any global memory access
  const int64_t total = static_cast<int64_t>(m) * h4;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t t = i / h4, d = i % h4;
    float4 s = make_float4(0.f, 0.f, 0.f, 0.f);
    for (int j = 0; j < k; ++j) {
      const float4 v = out[out_row(rows, t, k, j) * h4 + d];
      s.x += v.x; s.y += v.y; s.z += v.z; s.w += v.w;
    }
    if (accumulate) {
      const float4 a = y[i];
      s.x += a.x; s.y += a.y; s.z += a.z; s.w += a.w;
    }
    y[i] = s;
  }
}

__global__ void moe_combine_kernel(const float* out, const int32_t* rows, int m, int k, int hidden, bool accumulate, float* y) {
  pdl_enter();  // launch.cuh: before any global memory access
  const int64_t total = static_cast<int64_t>(m) * hidden;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t t = i / hidden, d = i % hidden;
    float s = 0.0f;
    for (int j = 0; j < k; ++j) s += out[out_row(rows, t, k, j) * hidden + d];
    y[i] = accumulate ? y[i] + s : s;
  }
}

}  // namespace

void moe_combine(const float* out, int m, int top_k, int hidden, float* y, cudaStream_t stream, bool accumulate,
                 const int32_t* rows) {
  if (m == 0 || hidden == 0) return;
  constexpr int kThreads = 256;
  const bool vec = hidden % 4 == 0 && reinterpret_cast<uintptr_t>(out) % 16 == 0 && reinterpret_cast<uintptr_t>(y) % 16 == 0;
  const int64_t work = static_cast<int64_t>(m) * (vec ? hidden / 4 : hidden);
  const int grid = static_cast<int>(std::min<int64_t>((work + kThreads - 1) / kThreads, 4096));
  if (vec)
    launch(moe_combine4_kernel, {dim3(grid), dim3(kThreads)}, stream, reinterpret_cast<const float4*>(out), rows, m, top_k,
           hidden / 4, accumulate, reinterpret_cast<float4*>(y));
  else
    launch(moe_combine_kernel, {dim3(grid), dim3(kThreads)}, stream, out, rows, m, top_k, hidden, accumulate, y);
  CUDA_CHECK_LAUNCH();
}

}  // namespace tachyon::cuda
