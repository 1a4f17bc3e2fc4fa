// y[m, w.rows] (= or +=) x[m, w.cols] . W^T (+ bias), for a weight in any stored format (f32, bf16,
// fp8 with 128x128 block scales, mxfp4). The dense projections, the router and the LM head.
// Decode and verify shapes: m from 1 to 64 rows, so the kernel streams the weight once from HBM and
// is judged by the bytes it moves (target: >= 85% of the measured copy bandwidth for bf16/fp8).
// CPU twin: kernels/cpu/matmul (matmul + add_bias). x, y, bias are FP32 device pointers.
#pragma once

#include <cuda_runtime.h>

#include "kernels/cuda/device_weight.h"

namespace tachyon::cuda {

struct LinearEpilogue {
  const float* bias = nullptr;  // [w.rows] or null
  bool accumulate = false;      // y += result instead of y = result
};

void linear(const float* x, int m, const DeviceMatrix& w, float* y, const LinearEpilogue& epilogue, cudaStream_t stream);

}  // namespace tachyon::cuda
