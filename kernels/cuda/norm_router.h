// A MoE layer's input in one launch, where add_rmsnorm and the router's linear took two:
//   h = rmsnorm(x + delta) * w        (add_rmsnorm's bits where it norms a row by a block: dim >= 512)
//   logits = h . router^T (+ bias)    (FP32 activations, as the step's router linear; BF16 or FP32 weights)
// x itself is not written: every CTA reads it while any other would write it, so the caller adds delta to
// x later (combine_add_rmsnorm's `delta`, on one rank, adds x + delta then the MoE's slots, the same bits as
// add_rmsnorm before it). CPU twins: kernels/cpu/rmsnorm and matmul.
#pragma once

#include <cuda_runtime.h>

#include "kernels/cuda/device_weight.h"

namespace tachyon::cuda {

// Whether add_rmsnorm_router takes these shapes: at most kNormRouterMaxRows rows and rows x dim <=
// kNormRouterMaxElements, dim a multiple of 4, a BF16 or FP32 router [experts, dim]. Every CTA reads all rows of x
// and delta, so the launch pays only for decode at a token or two: one H200, `tachyon bench step`, against
// add_rmsnorm then the router's linear in the same run, the step was 1.05x faster at 1 row of 2048 (Qwen3-30B-A3B)
// and 1.02-1.03x at 2; a first version without this limit (docs/benchmarks.md, session 12) made it 0.95x at 8 rows
// of 2048, where the fused launch took 10.8 us a layer. Narrow rows fit more of them in the elements, but not
// faster: the embedded default's 384-wide rows took it at 8 rows, and `--no-fused-norm-router` made that step
// 1.07-1.09x faster (session 46), hence the row limit too.
inline constexpr int kNormRouterMaxElements = 4096;
inline constexpr int kNormRouterMaxRows = 2;
bool add_rmsnorm_router_fits(int rows, int dim, const DeviceMatrix& router, const float* delta, const float* x,
                             const float* w, const float* h);

// x, delta [rows, dim]; w [dim]; router [experts, dim], bias [experts] or null; h [rows, dim];
// logits [rows, experts].
void add_rmsnorm_router(const float* delta, const float* x, const float* w, int rows, int dim, float eps,
                        const DeviceMatrix& router, const float* bias, float* h, float* logits, cudaStream_t stream);

}  // namespace tachyon::cuda
