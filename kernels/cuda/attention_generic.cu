#include "kernels/cuda/attention_generic.cuh"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/launch.cuh"

namespace tachyon::cuda {

namespace {

constexpr int kWarps = 4;
constexpr int kPerLane = kGenericAttentionMaxDim / 32;  // value dims held by one lane

__device__ __forceinline__ float bf16_at(const __nv_bfloat16* p, int i) { return __bfloat162float(p[i]); }

__global__ void __launch_bounds__(kWarps * 32) attention_generic_kernel(const float* q, AttentionBatch batch, KvCacheView c,
                                                                        AttentionParams p, float* out) {
  pdl_enter();  // launch.cuh: before any global memory access
  const int row_in_seq = blockIdx.x, h = blockIdx.y, s = blockIdx.z;
  if (row_in_seq >= batch.count[s]) return;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int D = c.head_dim, Dv = c.v_head_dim;
  const int row = batch.first_row[s] + row_in_seq;
  const int pos = batch.start[s] + row_in_seq;
  const int kvh = p.kv_head_of[h];
  const float* qh = q + (static_cast<size_t>(row) * p.num_q_heads + h) * D;
  const size_t slot_base = static_cast<size_t>(batch.slot[s]) * c.capacity;
  const int lo = p.window > 0 ? max(0, pos - p.window + 1) : 0;
  const int hi = p.causal ? pos : batch.start[s] + batch.count[s] - 1;

  float m = -INFINITY, l = 0.0f, acc[kPerLane];
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) acc[i] = 0.0f;
  for (int j = lo + warp; j <= hi; j += kWarps) {
    const __nv_bfloat16* kj = c.k + ((slot_base + j) * c.kv_heads + kvh) * D;
    float dot = 0.0f;
    for (int d = lane; d < D; d += 32) dot += qh[d] * bf16_at(kj, d);
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, o);
    const float score = dot * p.scale;
    const float m_new = fmaxf(m, score);
    const float decay = expf(m - m_new), w = expf(score - m_new);
    l = l * decay + w;
    const __nv_bfloat16* vj = c.v + ((slot_base + j) * c.kv_heads + kvh) * Dv;
#pragma unroll
    for (int i = 0; i < kPerLane; ++i) {
      const int d = lane + 32 * i;
      acc[i] = acc[i] * decay + (d < Dv ? w * bf16_at(vj, d) : 0.0f);
    }
    m = m_new;
  }
  // Merge the warps' partial softmaxes (and the sink, which adds mass but no value).
  __shared__ float sm[kWarps], sl[kWarps], sacc[kWarps][kGenericAttentionMaxDim];
  if (lane == 0) {
    sm[warp] = m;
    sl[warp] = l;
  }
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) sacc[warp][lane + 32 * i] = acc[i];
  __syncthreads();
  if (warp != 0) return;
  float M = p.sinks ? p.sinks[h] : -INFINITY;
  for (int w = 0; w < kWarps; ++w) M = fmaxf(M, sm[w]);
  float denom = p.sinks ? expf(p.sinks[h] - M) : 0.0f;
  for (int w = 0; w < kWarps; ++w)
    if (sm[w] > -INFINITY) denom += sl[w] * expf(sm[w] - M);
  float* o = out + (static_cast<size_t>(row) * p.num_q_heads + h) * Dv;
  for (int d = lane; d < Dv; d += 32) {
    float v = 0.0f;
    for (int w = 0; w < kWarps; ++w)
      if (sm[w] > -INFINITY) v += sacc[w][d] * expf(sm[w] - M);
    o[d] = denom > 0.0f ? v / denom : 0.0f;
  }
}

}  // namespace

void attention_generic(const float* q, const AttentionBatch& batch, const KvCacheView& cache, const AttentionParams& p,
                       float* out, cudaStream_t stream) {
  CUDA_REQUIRE(cache.head_dim <= kGenericAttentionMaxDim && cache.v_head_dim <= kGenericAttentionMaxDim,
               "attention: head dims above 256 are not supported");
  const dim3 grid(static_cast<unsigned>(batch.max_count), static_cast<unsigned>(p.num_q_heads),
                  static_cast<unsigned>(batch.num_seqs));
  launch(attention_generic_kernel, {grid, dim3(kWarps * 32)}, stream, q, batch, cache, p, out);
  CUDA_CHECK_LAUNCH();
}

}  // namespace tachyon::cuda
