// qkv_prepare (kernels/cuda/qkv_prepare.h): one warp per (row, head) of q, k or v. A q or k head is
// loaded lane-strided (element i by lane i % 32, as rmsnorm's warp-per-row kernel reads it, so that the
// sum of squares adds in the same order), normed, staged in shared memory for RoPE's (d, d + half)
// pairs, then written back (q) or to the cache (k). A v head is scaled and written to the cache.
#include <cuda_bf16.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/qkv_prepare.h"
#include "kernels/cuda/row_ops.cuh"

namespace tachyon::cuda {

namespace {

constexpr int kWarps = 8;
constexpr int kMaxDim = 256;

__global__ void __launch_bounds__(kWarps * 32) qkv_prepare_kernel(float* q, const float* k, const float* v,
                                                                  QkvPrepareParams p, KvCacheView c) {
  __shared__ float stage[kWarps][kMaxDim];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t item = static_cast<int64_t>(blockIdx.x) * kWarps + warp;
  const int heads = p.q_heads + 2 * p.kv_heads;
  if (item >= static_cast<int64_t>(p.m) * heads) {
    pdl_enter();  // launch.cuh: every CTA waits before it returns
    return;
  }
  // Before the wait (launch.cuh): the step's metadata was written by a copy, and the RoPE frequencies are
  // weights, so this warp's rotations (a double sincos each, the kernel's longest latency) overlap the
  // linear before it instead of following it.
  const int row = static_cast<int>(item / heads), head = static_cast<int>(item % heads);
  const int slot = p.row_slot[row], pos = p.positions[row];
  const bool cached = slot >= 0 && pos >= 0 && pos < c.capacity;
  const bool is_v = head >= p.q_heads + p.kv_heads, is_q = head < p.q_heads;
  const int half = p.rotary_dim / 2;
  float2 rot[kMaxDim / 2 / 32];
#pragma unroll
  for (int j = 0; j < kMaxDim / 2 / 32; ++j) {
    const int d = lane + 32 * j;
    if (!is_v && d < half) rot[j] = rope_cos_sin(pos, p.inv_freq[d], p.attention_factor);
  }
  pdl_enter();

  if (is_v) {  // a v head: scale, round, store
    const int h = head - p.q_heads - p.kv_heads, D = c.v_head_dim;
    if (!cached) return;
    const float* src = v + (static_cast<size_t>(row) * p.kv_heads + h) * D;
    __nv_bfloat16* dst = c.v + ((static_cast<size_t>(slot) * c.capacity + pos) * c.kv_heads + h) * D;
    for (int i = lane; i < D; i += 32) dst[i] = __float2bfloat16_rn(p.value_scale != 1.0f ? src[i] * p.value_scale : src[i]);
    return;
  }

  const int h = is_q ? head : head - p.q_heads, heads_of = is_q ? p.q_heads : p.kv_heads, D = c.head_dim;
  if (!is_q && !cached) return;
  const float* src = (is_q ? q : k) + (static_cast<size_t>(row) * heads_of + h) * D;
  const float* w = is_q ? p.q_norm : p.k_norm;
  float* s = stage[warp];
  if (w) {
    const float inv = warp_inv_rms(src, D, p.eps);
    for (int i = lane; i < D; i += 32) s[i] = src[i] * inv * w[i];
  } else {
    for (int i = lane; i < D; i += 32) s[i] = src[i];
  }
  __syncwarp();
#pragma unroll
  for (int j = 0; j < kMaxDim / 2 / 32; ++j) {
    const int d = lane + 32 * j;
    if (d < half) rope_apply(s[d], s[d + half], rot[j]);
  }
  __syncwarp();
  if (is_q) {
    float* dst = q + (static_cast<size_t>(row) * p.q_heads + h) * D;
    for (int i = lane; i < D; i += 32) dst[i] = s[i];
  } else {
    __nv_bfloat16* dst = c.k + ((static_cast<size_t>(slot) * c.capacity + pos) * c.kv_heads + h) * D;
    for (int i = lane; i < D; i += 32) dst[i] = __float2bfloat16_rn(s[i]);
  }
}

}  // namespace

void qkv_prepare(float* q, const float* k, const float* v, const QkvPrepareParams& p, const KvCacheView& cache,
                 cudaStream_t stream) {
  const int64_t items = static_cast<int64_t>(p.m) * (p.q_heads + 2 * p.kv_heads);
  if (items == 0) return;
  CUDA_REQUIRE(cache.head_dim <= kMaxDim && cache.v_head_dim <= kMaxDim && p.rotary_dim <= cache.head_dim &&
                   p.rotary_dim % 2 == 0 && p.kv_heads == cache.kv_heads,
               "qkv_prepare: head dims at most 256, an even rotary_dim within head_dim, kv_heads as the cache's");
  launch(qkv_prepare_kernel, {dim3(static_cast<unsigned>((items + kWarps - 1) / kWarps)), dim3(kWarps * 32)}, stream, q, k, v, p, cache);
  CUDA_CHECK_LAUNCH();
}

}  // namespace tachyon::cuda
