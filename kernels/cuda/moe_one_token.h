// The MXFP4 expert GEMMs of a step of one token (moe_one_token.cu: gate_up; moe_down_one_token.cu: down):
// whether they take a call, and their launches.
#pragma once

#include <cuda_runtime.h>

#include "kernels/cuda/moe_gemm_params.cuh"

namespace tachyon::cuda::moe_detail {

// Both kernels take a call only while enabled (set_moe_one_token_kernel, moe.h: one switch for both).
bool one_token_moe_enabled();

// The one-token gate_up (moe_one_token.cu), for a step of one token (the caller knows m = 1): whether it takes p
// (whose MMA layout is set: with_mma_layout), and its launch.
bool one_token_gate_up_applies(const MoeGemmParams& p);
void launch_gate_up_one_token(const MoeGemmParams& p, cudaStream_t stream);

// The one-token down projection (moe_down_one_token.cu), the same; with tail.counter set, its last CTA also runs the
// tail (moe.h's moe_down_tail), where one_token_down_tail_fits.
bool one_token_down_applies(const MoeGemmParams& p);
void launch_down_one_token(const MoeGemmParams& p, const MoeDownTail& tail, cudaStream_t stream);
bool one_token_down_tail_fits(const MoeGemmParams& p, const MoeDownTail& tail);

}  // namespace tachyon::cuda::moe_detail
