// moe_route (kernels/cuda/moe.h): router logits [m, E] -> top-k expert ids and weights, every router
// kind. One warp per token; the CPU twin is kernels/cpu/router.cpp, whose arithmetic this follows step
// by step (softmax sums in double, sigmoid in float) so that the selections agree exactly and the
// weights to rounding.
#include <cstdint>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/moe.h"

namespace tachyon::cuda {

namespace {

constexpr int kRouteWarps = 4;
constexpr unsigned kFull = 0xffffffffu;

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(kFull, v, o));
  return v;
}

__device__ __forceinline__ double warp_sum(double v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFull, v, o);
  return v;
}

// (v, i) beats (bv, bi): larger value, lower index among equals; bi < 0 means "no candidate yet".
__device__ __forceinline__ bool better(float v, int i, float bv, int bi) {
  return bi < 0 || v > bv || (v == bv && i < bi);
}

// Scores go to shared memory: `sel` is what top-k ranks, `val` what the weights are made of.
__global__ void moe_route_kernel(const float* logits, int m, RouterDeviceParams p, int32_t* expert_ids, float* weights) {
  pdl_enter();  // launch.cuh: before any global memory access
  extern __shared__ float route_smem[];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int t = blockIdx.x * kRouteWarps + warp;
  if (t >= m) return;
  const int E = p.num_experts, K = p.top_k;
  float* sel = route_smem + warp * 2 * E;
  float* val = sel + E;
  const float* l = logits + static_cast<size_t>(t) * E;

  switch (p.kind) {
    case RouterKind::SoftmaxTopK: {
      float mx = -INFINITY;
      for (int e = lane; e < E; e += 32) mx = fmaxf(mx, l[e]);
      mx = warp_max(mx);
      double sum = 0.0;
      for (int e = lane; e < E; e += 32) sum += exp(static_cast<double>(l[e]) - mx);
      sum = warp_sum(sum);
      for (int e = lane; e < E; e += 32) sel[e] = val[e] = static_cast<float>(exp(static_cast<double>(l[e]) - mx) / sum);
      break;
    }
    case RouterKind::TopKSoftmax:
      for (int e = lane; e < E; e += 32) sel[e] = val[e] = l[e];
      break;
    case RouterKind::SigmoidTopK:
      for (int e = lane; e < E; e += 32) {
        val[e] = 1.0f / (1.0f + expf(-l[e]));
        sel[e] = val[e] + (p.correction_bias ? p.correction_bias[e] : 0.0f);
      }
      break;
  }
  __syncwarp();

  // K rounds of a warp arg-max; lane j keeps the j-th choice. Chosen experts are marked in a per-lane
  // bit mask (bit i: expert lane + 32 i), so no score value has to serve as a sentinel.
  uint32_t taken = 0;
  int my_id = 0;
  float my_val = 0.0f;
  for (int j = 0; j < K; ++j) {
    float bv = 0.0f;
    int bi = -1;
    for (int e = lane, i = 0; e < E; e += 32, ++i)
      if (!((taken >> i) & 1u) && better(sel[e], e, bv, bi)) { bv = sel[e]; bi = e; }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
      const float ov = __shfl_xor_sync(kFull, bv, o);
      const int oi = __shfl_xor_sync(kFull, bi, o);
      if (oi >= 0 && better(ov, oi, bv, bi)) { bv = ov; bi = oi; }
    }
    if (bi % 32 == lane) taken |= 1u << (bi / 32);
    if (lane == j) { my_id = bi; my_val = val[bi]; }
  }

  const bool mine = lane < K;
  if (p.kind == RouterKind::TopKSoftmax) {
    // Softmax over the chosen logits, largest first (the CPU's order of operations).
    const float mx = __shfl_sync(kFull, my_val, 0);
    const double ex = mine ? exp(static_cast<double>(my_val) - mx) : 0.0;
    const double sum = warp_sum(ex);
    my_val = static_cast<float>(ex / sum);
  }
  if (p.normalize) {
    const double sum = warp_sum(mine ? static_cast<double>(my_val) : 0.0);
    my_val = static_cast<float>(my_val / sum);
  }
  if (p.scaling != 1.0f) my_val *= p.scaling;
  if (mine) {
    expert_ids[static_cast<size_t>(t) * K + lane] = my_id;
    weights[static_cast<size_t>(t) * K + lane] = my_val;
  }
}

}  // namespace

void moe_route(const float* logits, int m, const RouterDeviceParams& p, int32_t* expert_ids, float* weights,
               cudaStream_t stream) {
  if (m == 0) return;
  CUDA_REQUIRE(p.top_k >= 1 && p.top_k <= 32 && p.top_k <= p.num_experts, "moe_route: top_k must be in [1, min(32, E)]");
  CUDA_REQUIRE(p.num_experts <= 1024, "moe_route: at most 1024 experts (one 32-bit taken-mask per lane)");
  const size_t smem = static_cast<size_t>(kRouteWarps) * 2 * p.num_experts * sizeof(float);
  launch(moe_route_kernel, {dim3((m + kRouteWarps - 1) / kRouteWarps), dim3(kRouteWarps * 32), smem}, stream, logits, m, p, expert_ids,
                                                                                           weights);
  CUDA_CHECK_LAUNCH();
}

}  // namespace tachyon::cuda
