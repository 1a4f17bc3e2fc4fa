// The MXFP4 expert GEMMs of a step of one token (moe_one_token.cu: gate_up; moe_down_one_token.cu: down):
// whether they take a call, and their launches.
#pragma once

#include <cuda_runtime.h>

#include "kernels/cuda/moe_gemm_params.cuh"

namespace tachyon::cuda::moe_detail {

// Whether the kernel takes p (whose MMA layout is set), and its launch; enabled: set_moe_one_token_kernel (moe.h).
bool one_token_moe_enabled();
bool one_token_gate_up_applies(const MoeGemmParams& p);
void launch_gate_up_one_token(const MoeGemmParams& p, cudaStream_t stream);

// The one-token down projection (moe_down_one_token.cu), for a step of one token (the caller knows m = 1).
bool one_token_down_applies(const MoeGemmParams& p);
void launch_down_one_token(const MoeGemmParams& p, cudaStream_t stream);

}  // namespace tachyon::cuda::moe_detail
