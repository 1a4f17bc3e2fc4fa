// The MXFP4 gate_up of a step of one token (moe_one_token.cu): whether it takes a call, and its launch.
#pragma once

#include <cuda_runtime.h>

#include "kernels/cuda/moe_gemm_params.cuh"

namespace tachyon::cuda::moe_detail {

// Whether the kernel takes p (whose MMA layout is set), and its launch; enabled: set_moe_one_token_kernel (moe.h).
bool one_token_gate_up_enabled();
bool one_token_gate_up_applies(const MoeGemmParams& p);
void launch_gate_up_one_token(const MoeGemmParams& p, cudaStream_t stream);

}  // namespace tachyon::cuda::moe_detail
