// The MXFP4 down projection of a step of 2-16 tokens (a verify block, or a few sequences of one token), routed
// in-kernel (moe_down_few_tokens.cu): whether it takes a call, and its launch.
#pragma once

#include <cuda_runtime.h>

#include "kernels/cuda/moe_gemm_params.cuh"

namespace tachyon::cuda::moe_detail {

// Whether the kernel takes p (its MMA layout set: with_mma_layout) for a step of m tokens: 2 <= m <= 16, MXFP4,
// in-kernel routing, rows in whole 32-row tiles that bulk copies can take, its shared memory, and the process-wide
// mode (set_moe_few_token_down, moe.h).
bool few_token_down_applies(const MoeGemmParams& p, int m);
void launch_down_few_tokens(const MoeGemmParams& p, int m, cudaStream_t stream);

}  // namespace tachyon::cuda::moe_detail
