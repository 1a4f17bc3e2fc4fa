// moe_route (kernels/cuda/moe.h): router logits [m, E] -> top-k expert ids and weights, every router
// kind. The CPU twin is kernels/cpu/router.cpp, whose arithmetic this follows step by step (softmax sums
// in double, sigmoid in float) so that the selections agree exactly and the weights to rounding.
//
// One block per token, one thread per expert. A decode step routes one token, so the selection must
// not be a long serial chain: each expert's rank (the number of experts that beat it: larger score, or
// equal score and lower id) is counted in two parallel rounds. First against the 31 other experts of
// its warp; only experts ranked below k there can be in the top k, at most k per warp. Then those
// candidates are ranked against each other, and the candidate of rank j is the j-th choice.
#include <climits>
#include <cstdint>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/moe.h"

namespace tachyon::cuda {

namespace {

constexpr int kMaxExperts = 1024;  // one thread per expert
constexpr int kMaxTopK = 32;       // the choices are finished by one warp, a lane each
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

// (v, i) beats (bv, bi): larger value, lower index among equals.
__device__ __forceinline__ bool beats(float v, int i, float bv, int bi) { return v > bv || (v == bv && i < bi); }

__global__ void __launch_bounds__(kMaxExperts) moe_route_kernel(const float* logits, RouterDeviceParams p,
                                                                int32_t* expert_ids, float* weights) {
  pdl_enter();  // launch.cuh: before any global memory access
  __shared__ float2 cand[kMaxExperts];  // (selection score, expert id as bits); at most k per warp
  __shared__ float cand_val[kMaxExperts];
  __shared__ float warp_maxes[32];
  __shared__ double warp_sums[32];
  __shared__ int chosen_id[kMaxTopK];
  __shared__ float chosen_val[kMaxTopK];
  const int t = blockIdx.x, E = p.num_experts, K = p.top_k;
  const int e = threadIdx.x, lane = e % 32, warp = e / 32, W = blockDim.x / 32;
  const bool valid = e < E;
  const float x = valid ? logits[static_cast<size_t>(t) * E + e] : 0.0f;

  // Scores: `sel` is what top-k ranks, `val` what the weights are made of.
  float sel = -INFINITY, val = 0.0f;
  switch (p.kind) {
    case RouterKind::SoftmaxTopK: {
      float mx = warp_max(valid ? x : -INFINITY);
      if (lane == 0) warp_maxes[warp] = mx;
      __syncthreads();
      for (int w = 0; w < W; ++w) mx = fmaxf(mx, warp_maxes[w]);
      const double ex = valid ? exp(static_cast<double>(x) - mx) : 0.0;
      const double ws = warp_sum(ex);
      if (lane == 0) warp_sums[warp] = ws;
      __syncthreads();
      double sum = 0.0;
      for (int w = 0; w < W; ++w) sum += warp_sums[w];
      sel = val = static_cast<float>(ex / sum);
      break;
    }
    case RouterKind::TopKSoftmax:
      sel = val = x;
      break;
    case RouterKind::SigmoidTopK:
      val = 1.0f / (1.0f + expf(-x));
      sel = val + (p.correction_bias && valid ? p.correction_bias[e] : 0.0f);
      break;
  }
  // A NaN score would beat nothing and be beaten by nothing, leaving two experts on one rank and a
  // choice unwritten: it ranks as -inf instead, so every choice is a real expert.
  if (sel != sel) sel = -INFINITY;

  // Round 1: rank inside the warp. Candidate slots of warp w are [w K, w K + K); slots no expert takes
  // (a last warp of fewer than K experts) keep a sentinel that beats nothing.
  const int nc = W * K;
  if (e < nc) cand[e] = make_float2(-INFINITY, __int_as_float(INT_MAX));
  int r = 0;
  for (int j = 0; j < 32; ++j) {
    const float sj = __shfl_sync(kFull, sel, j);
    const int ej = warp * 32 + j;
    r += ej < E && beats(sj, ej, sel, e);
  }
  __syncthreads();  // sentinels before candidates
  if (valid && r < K) {
    cand[warp * K + r] = make_float2(sel, __int_as_float(e));
    cand_val[warp * K + r] = val;
  }
  __syncthreads();

  // Round 2: rank among the candidates; rank j is the j-th choice.
  if (e < nc) {
    const float2 me = cand[e];
    const int me_id = __float_as_int(me.y);
    if (me_id != INT_MAX) {
      int rank = 0;
      for (int j = 0; j < nc; ++j) {
        const float2 c = cand[j];
        rank += beats(c.x, __float_as_int(c.y), me.x, me_id);
      }
      if (rank < K) {
        chosen_id[rank] = me_id;
        chosen_val[rank] = cand_val[e];
      }
    }
  }
  __syncthreads();
  if (warp != 0) return;

  const bool mine = lane < K;
  const int my_id = mine ? chosen_id[lane] : 0;
  float my_val = mine ? chosen_val[lane] : 0.0f;
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
  CUDA_REQUIRE(p.top_k >= 1 && p.top_k <= kMaxTopK && p.top_k <= p.num_experts, "moe_route: top_k must be in [1, min(32, E)]");
  CUDA_REQUIRE(p.num_experts <= kMaxExperts, "moe_route: at most 1024 experts (one thread each)");
  const unsigned threads = static_cast<unsigned>((p.num_experts + 31) / 32 * 32);
  launch(moe_route_kernel, {dim3(static_cast<unsigned>(m)), dim3(threads)}, stream, logits, p, expert_ids, weights);
  CUDA_CHECK_LAUNCH();
}

}  // namespace tachyon::cuda
