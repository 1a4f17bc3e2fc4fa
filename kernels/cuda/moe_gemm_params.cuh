// What the expert GEMM kernels (moe_gemm_mma.cuh, moe_gemm_simple.cuh) share: their parameters, the
// fused epilogues (SwiGLU for gate_up; router weight and bias for down) and the zeroing of the rows of
// pairs whose expert is not local. The launchers are in moe_gemm_launch.cuh.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cpu/swiglu.h"
#include "kernels/cuda/device_weight.h"
#include "kernels/cuda/moe.h"

namespace tachyon::cuda::moe_detail {

enum class Proj { GateUp, Down };

// A pair's routing bucket: its local expert index, or local_experts if its expert id (global) is not in this
// rank's range [expert_begin, expert_begin + local_experts). moe_align and the in-kernel routing sort by it,
// so both give the same order.
__device__ __forceinline__ int local_expert_bucket(int32_t id, int expert_begin, int local_experts) {
  const int local = id - expert_begin;
  return local >= 0 && local < local_experts ? local : local_experts;
}

struct MoeGemmParams {
  // Activations: the input row of pair p is in + (p / in_row_div) * K (gate_up: the token's hidden
  // state, in_row_div = top_k; down: the pair's own SwiGLU output, in_row_div = 1).
  const float* in = nullptr;
  int in_row_div = 1;
  int K = 0;     // input features (weight columns)
  int rows = 0;  // output features (weight rows): inter_local (gate_up) or hidden (down)
  DeviceExperts w0, w1;          // gate, up (gate_up); down, down (down)
  const float* bias0 = nullptr;  // [local_experts, rows]: gate bias (gate_up) or down bias (down), or null
  const float* bias1 = nullptr;  // [local_experts, rows]: up bias (gate_up), or null
  float bias_scale = 1.0f;       // down: multiplies bias0
  const float* pair_weight = nullptr;  // down: router weight of each pair [n_pairs]
  cpu::SwigluParams act;
  float* out = nullptr;          // [n_pairs, rows], row = original pair index
  // Routing (moe.h's MoeRouting)
  const int32_t* offsets = nullptr;
  const int32_t* pair_index = nullptr;
  const int32_t* active_count = nullptr;
  const int32_t* active_experts = nullptr;
  int local_experts = 0;
  int n_pairs = 0;
  // In-kernel routing (MoeRouting::expert_ids): the pairs' expert ids; the arrays above are then unused.
  const int32_t* expert_ids = nullptr;
  int expert_begin = 0;
  // Tensor-core path only (set by the launcher): 16-byte weight blocks per row, and the byte stride of
  // one staged BF16 activation row in shared memory.
  int nb = 0;
  int rs = 0;
  // gate_up's token table (MmaRun): the step's tokens, each staged once before the wait; 0: a pass stages its own.
  int table_tokens = 0;
  // The tensor-core kernel's K split where fixed (batch invariance: moe_gemm_launch.cuh's invariant_k_split); 0: the
  // kernel chooses it from the amount of work.
  int fixed_split = 0;
};

__device__ __forceinline__ float swiglu_value(float g, float u, const cpu::SwigluParams& a) {
  if (a.kind == SwigluKind::Standard) return g / (1.0f + expf(-g)) * u;
  g = fminf(g, a.limit);
  u = fminf(fmaxf(u, -a.limit), a.limit);
  return (u + 1.0f) * (g / (1.0f + expf(-a.alpha * g)));
}

// The output value of one (pair, row): gate_up takes both projections (v1 = up), down only v0.
template <Proj P>
__device__ __forceinline__ float epilogue_value(const MoeGemmParams& p, int e, int row, float v0, float v1, float pair_w) {
  const size_t b = static_cast<size_t>(e) * p.rows + row;
  if constexpr (P == Proj::GateUp) {
    if (p.bias0) v0 += p.bias0[b];
    if (p.bias1) v1 += p.bias1[b];
    return swiglu_value(v0, v1, p.act);
  } else {
    if (p.bias0) v0 += p.bias_scale * p.bias0[b];
    return pair_w * v0;
  }
}

// down: pairs sorted after the local experts' (moe_align puts the non-local ones there) get zero rows.
// Grid-strided over all threads of the launch.
__device__ __forceinline__ void zero_nonlocal_rows(const MoeGemmParams& p) {
  const int first = p.offsets[p.local_experts];
  const int64_t total = static_cast<int64_t>(p.n_pairs - first) * p.rows;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int pr = p.pair_index[first + static_cast<int>(i / p.rows)];
    p.out[static_cast<size_t>(pr) * p.rows + static_cast<size_t>(i % p.rows)] = 0.0f;
  }
}

// The same for in-kernel routing, whose CTAs all hold every pair's local expert (key[i], L if not local):
// a pair at a time per CTA.
__device__ __forceinline__ void zero_nonlocal_rows(const MoeGemmParams& p, const int* key) {
  for (int i = blockIdx.x; i < p.n_pairs; i += gridDim.x)
    if (key[i] == p.local_experts)
      for (int r = threadIdx.x; r < p.rows; r += blockDim.x) p.out[static_cast<size_t>(i) * p.rows + r] = 0.0f;
}

// Points a kernel's parameters at the sorted routing of moe_align.
inline void set_routing(MoeGemmParams& p, const MoeRouting& routing, int n_pairs) {
  p.offsets = routing.expert_offsets;
  p.pair_index = routing.pair_index;
  p.active_count = routing.active_count;
  p.active_experts = routing.active_experts;
  p.local_experts = routing.local_experts;
  p.n_pairs = n_pairs;
  p.expert_ids = routing.expert_ids;
  p.expert_begin = routing.expert_begin;
}

// The parameters of moe_gate_up (x [m, hidden] -> act [m*k, inter_local]) and moe_down (act -> out
// [m*k, hidden]), moe.h's arguments as the kernels take them.
inline MoeGemmParams gate_up_params(const float* x, int m, int top_k, const MoeRouting& routing, const DeviceExperts& gate,
                                    const DeviceExperts& up, const float* gate_bias, const float* up_bias,
                                    const cpu::SwigluParams& act, float* act_out) {
  MoeGemmParams p;
  p.in = x;
  p.in_row_div = top_k;
  p.K = gate.first.cols;
  p.rows = gate.first.rows;
  p.w0 = gate;
  p.w1 = up;
  p.bias0 = gate_bias;
  p.bias1 = up_bias;
  p.act = act;
  p.out = act_out;
  set_routing(p, routing, m * top_k);
  return p;
}

inline MoeGemmParams down_params(const float* act, int m, int top_k, const MoeRouting& routing, const DeviceExperts& down,
                                 const float* down_bias, float bias_scale, const float* weights, float* out) {
  MoeGemmParams p;
  p.in = act;
  p.in_row_div = 1;
  p.K = down.first.cols;
  p.rows = down.first.rows;
  p.w0 = down;
  p.w1 = down;
  p.bias0 = down_bias;
  p.bias_scale = bias_scale;
  p.pair_weight = weights;
  p.out = out;
  set_routing(p, routing, m * top_k);
  return p;
}

// In-kernel routing's limits: its packed scan holds pair counts, active experts and passes in 10 bits each.
constexpr int kInKernelRoutingMaxPairs = 512;
constexpr int kInKernelRoutingMaxExperts = 1023;

}  // namespace tachyon::cuda::moe_detail
