// The fallback attention kernel for head dimensions the tuned kernel (attention.cu: q/k 64, 128, 192
// and v 64, 128) is not instantiated for: small test and demo models, unusual families. One block per
// (query row, query head, sequence); its warps split the visible keys and merge their online-softmax
// partials. Same semantics as kernels/cpu/attention (masking, GQA, sinks); FP32 math over the BF16 cache.
#pragma once

#include <cuda_runtime.h>

#include "kernels/cuda/attention.h"

namespace tachyon::cuda {

inline constexpr int kGenericAttentionMaxDim = 256;

void attention_generic(const float* q, const AttentionBatch& batch, const KvCacheView& cache, const AttentionParams& p,
                       float* out, cudaStream_t stream);

}  // namespace tachyon::cuda
