// The per-head work between the q/k/v projections and attention, in one launch instead of five or six:
// QK-norm (optional), RoPE on q and k, the value scale, and the K/V cache write. It does the same
// arithmetic in the same order as rmsnorm, rope, scale (elementwise.h) and kv_write (attention.h), so
// its results equal theirs (tests/gpu/test_elementwise.cpp checks it against that composition). A
// decode step's kernels are small enough that each launch's fixed cost, not its bytes, is the time.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda/attention.h"

namespace tachyon::cuda {

struct QkvPrepareParams {
  int m = 0;                          // token rows
  int q_heads = 0, kv_heads = 0;      // of q [m, q_heads, head_dim], k [m, kv_heads, head_dim], v [m, kv_heads, v_head_dim]
  const float* q_norm = nullptr;      // [head_dim] QK-norm weights, or null (no QK-norm)
  const float* k_norm = nullptr;
  float eps = 1e-6f;
  int rotary_dim = 0;                 // RoPE on the first rotary_dim dims of every q and k head
  const int32_t* positions = nullptr; // device [m]
  const float* inv_freq = nullptr;    // device [rotary_dim / 2]
  float attention_factor = 1.0f;
  float value_scale = 1.0f;
  const int32_t* row_slot = nullptr;  // device [m]: KV slot of each row (rows with slot < 0 are not written)
};

// q is rewritten in place (normed, rotated); k and v go to the cache at (row_slot, position) as BF16.
// head_dim and v_head_dim at most 256 (cache.head_dim, cache.v_head_dim). positions, row_slot and
// inv_freq are read before the wait for the kernel before (launch.cuh): they must come from a copy or a
// kernel at least two launches earlier (the step's metadata and the weights do).
void qkv_prepare(float* q, const float* k, const float* v, const QkvPrepareParams& p, const KvCacheView& cache,
                 cudaStream_t stream);

}  // namespace tachyon::cuda
