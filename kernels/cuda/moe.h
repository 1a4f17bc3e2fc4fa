// Mixture-of-experts on the GPU, in four launches whose grids never depend on the routing, so that a
// whole step can be captured in a CUDA graph and replayed (no host synchronisation anywhere):
//   1. moe_route   router logits [m, E] -> top-k expert ids and weights per token (every router kind)
//   2. moe_align   sort the m*k (token, slot) pairs by local expert into MoeRouting (counts, offsets)
//   3. moe_gate_up act[pair, :] = swiglu(gate_e . x[token] + gate_bias, up_e . x[token] + up_bias)
//   4. moe_down    out[token*k + slot, :] = weight * (down_e . act[pair] + down_bias_e)
//      moe_combine y[token] += sum over slots of out[token*k + slot]   (slot order: deterministic)
// Under the ep plan with several ranks, moe_dispatch and moe_combine (through the pairs' slots) wrap an
// all-to-all around steps 2-4, which then run over the rows received from every rank (one pair each).
// Expert weights are a rank's local experts [expert_begin, expert_begin + local_experts) (ep), or
// every expert's slice of the intermediate dimension (tp); pairs whose expert is not local are
// skipped and their `out` rows are zero. Shapes: x [m, hidden]; act [m*k, inter_local];
// out [m*k, hidden]. MXFP4 weights are dequantized in registers (no lookup tables in local memory).
// CPU twins: kernels/cpu/router (route), kernels/cpu/gated_mlp (an expert), runtime/cpu_target_step.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cpu/router.h"
#include "kernels/cpu/swiglu.h"
#include "kernels/cuda/device_weight.h"

namespace tachyon::cuda {

// Routing sorted by expert; every array lives on the device and has room for m*k pairs.
struct MoeRouting {
  int32_t* expert_offsets = nullptr;  // [local_experts + 1]: local expert e owns sorted pairs [off[e], off[e+1])
  int32_t* pair_index = nullptr;      // [m*k]: sorted pair -> original pair t*k + slot; positions
                                      // [off[local_experts], m*k) hold the non-local pairs (any order)
  int32_t* active_count = nullptr;    // [1]: number of local experts with at least one pair
  int32_t* active_experts = nullptr;  // [local_experts]: those experts, ascending
  int local_experts = 0;
  int expert_begin = 0;               // global id of local expert 0
  int max_pairs = 0;                  // m*k capacity the buffers were sized for
  // In-kernel routing: when set (to the step's expert_ids [m*k]), moe_gate_up and moe_down sort the pairs
  // themselves, in every CTA, into the same order moe_align gives, and moe_align need not run (the arrays
  // above are then not read). Only where moe_routes_in_kernel says so.
  const int32_t* expert_ids = nullptr;
};

// Whether moe_gate_up and moe_down can route in-kernel (MoeRouting::expert_ids) for m*top_k pairs over
// these weights and activations: decode-sized steps (at most 512 pairs, 1023 local experts) on the
// tensor-core path. Saves the moe_align launch, and moe_down then builds its tables and starts its weight
// stream before waiting for moe_gate_up.
bool moe_routes_in_kernel(int m, int top_k, const MoeRouting& routing, const float* x, const DeviceExperts& gate,
                          const DeviceExperts& up, const float* act, const DeviceExperts& down);

// Whether moe_gate_up takes its one-token kernel (moe_one_token.cu) for these arguments: one token (m = 1),
// in-kernel routing (routing.expert_ids set), MXFP4 rows and scale rows that bulk copies can take.
bool moe_gate_up_one_token(int m, int top_k, const MoeRouting& routing, const float* x, const DeviceExperts& gate,
                           const DeviceExperts& up);
// Whether moe_down takes its one-token kernel (moe_down_one_token.cu) for these arguments: one token, in-kernel
// routing, MXFP4 rows in contiguous runs.
bool moe_down_one_token(int m, int top_k, const MoeRouting& routing, const float* act, const DeviceExperts& down,
                        const float* weights);
// Process-wide: whether moe_gate_up and moe_down may take those kernels (the default). `tachyon bench step
// --no-one-token-moe` turns them off to measure what they give.
void set_moe_one_token_kernel(bool enabled);
// Whether moe_down takes its several-token kernel (moe_down_few_tokens.cu) for these arguments: 2-16 tokens, in-kernel
// routing, MXFP4 rows in whole 32-row tiles that bulk copies can take.
bool moe_down_few_tokens(int m, int top_k, const MoeRouting& routing, const float* act, const DeviceExperts& down,
                         const float* weights);
// Process-wide: where moe_down takes that kernel. Auto (the default): over K of at least 512, where it was measured
// faster (moe_down_few_tokens.cu says what); Always: wherever it applies (the GPU tests, and `tachyon bench step
// --few-token-down always` to measure it elsewhere); Never: not at all.
enum class FewTokenDown { Never, Auto, Always };
void set_moe_few_token_down(FewTokenDown mode);
// Process-wide: where moe_gate_up's tensor-core kernel stages every token of a step of at most 16 once, before its
// wait (the token table, moe_gemm_launch.cuh), instead of each pass staging its own tokens. Auto (the default): over K
// of at most kTokenTableMaxK (2048), where it was measured faster; Always: at any K (`tachyon bench step
// --gate-up-token-table always`, to measure it there); Never: not at all (the GPU tests compare the bits, which are the
// same either way).
enum class GateUpTokenTable { Never, Auto, Always };
void set_moe_gate_up_token_table(GateUpTokenTable mode);
// Whether moe_gate_up stages its token table for these arguments (its tensor-core kernel at a step of at most 16 tokens;
// moe_gemm_launch.cuh's gate_up_table_tokens says which).
bool moe_gate_up_token_table(int m, int top_k, const MoeRouting& routing, const float* x, const DeviceExperts& gate,
                             const DeviceExperts& up);

struct RouterDeviceParams {
  RouterKind kind = RouterKind::SoftmaxTopK;
  int num_experts = 0, top_k = 0;
  bool normalize = false;
  float scaling = 1.0f;
  const float* correction_bias = nullptr;  // device [num_experts] or null
};

// logits [m, num_experts] -> expert_ids [m, top_k] (descending score, lower id first on ties), weights [m, top_k].
void moe_route(const float* logits, int m, const RouterDeviceParams& p, int32_t* expert_ids, float* weights,
               cudaStream_t stream);

// Fills `routing` from expert_ids [m, top_k]. The order of pairs inside one expert is ascending pair index.
void moe_align(const int32_t* expert_ids, int m, int top_k, const MoeRouting& routing, cudaStream_t stream);

// x must have been written at least two launches before (kernels/cuda/launch.cuh): the one-token kernel stages it
// before it waits for the launch just before (the routing's).
void moe_gate_up(const float* x, int m, int top_k, const MoeRouting& routing, const DeviceExperts& gate,
                 const DeviceExperts& up, const float* gate_bias, const float* up_bias, const cpu::SwigluParams& act,
                 float* act_out, cudaStream_t stream);

// What a step of one token on one rank does right after moe_down (no all-reduce between them): x += delta (if set),
// x += the sum of the token's slot rows, y = rmsnorm(x) * norm, with combine_add_rmsnorm's bits (moe_down_tail).
struct MoeDownTail {
  float* x = nullptr;             // [hidden]: the residual, updated
  const float* delta = nullptr;   // [hidden] or null: added first (the attention's output, when its add was deferred)
  const float* norm = nullptr;    // [hidden]: the next norm's weight
  float eps = 0.0f;
  float* y = nullptr;             // [hidden]: the normed row
  uint32_t* counter = nullptr;    // one word, zero before the launch (the launch leaves it zero)
};

// `down_bias` [local_experts, hidden] or null; `bias_scale` multiplies it (0 on all but one rank under
// tp, so that the all-reduce counts the bias once). The routing (moe_align's arrays, or the expert ids and
// `weights`) must have been written at least two launches before (moe_gate_up sits between): moe_down
// reads it before it waits for the launch just before (kernels/cuda/launch.cuh).
void moe_down(const float* act, int m, int top_k, const MoeRouting& routing, const DeviceExperts& down,
              const float* down_bias, float bias_scale, const float* weights, float* out, cudaStream_t stream);
// moe_down of a step of one token (out gets its k slot rows) whose last CTA also runs `tail` on them, so that the
// combine + add + norm is not a launch of its own: only where moe_down_tail_fits allows it.
void moe_down_tail(const float* act, int top_k, const MoeRouting& routing, const DeviceExperts& down,
                   const float* down_bias, float bias_scale, const float* weights, float* out, const MoeDownTail& tail,
                   cudaStream_t stream);
// Whether moe_down_tail takes these arguments: a step of m = 1 token of top-k <= 8 where moe_down_one_token takes it,
// rows of 512 to 8704 floats (one CTA's row layout, as combine_add_rmsnorm's), 16-byte aligned, and the kernel's
// shared memory.
bool moe_down_tail_fits(int m, int top_k, const MoeRouting& routing, const float* act, const DeviceExperts& down,
                        const float* weights, const MoeDownTail& tail);

// accumulate = false stores the sum instead (no need to clear y first). With `rows`, slot j of token t
// is out row rows[t*k + j] (the ep plan: the outputs come back in the layout they were sent in).
void moe_combine(const float* out, int m, int top_k, int hidden, float* y, cudaStream_t stream, bool accumulate = true,
                 const int32_t* rows = nullptr);

// The ep plan's exchange (runtime/cuda/cuda_target_step.cpp runs it around an NCCL all-to-all): a
// rank's m tokens choose top_k experts each; pair i = token * top_k + slot goes to the rank that owns
// its expert. Every destination gets a block of `capacity` (= m * top_k, the most any one can receive)
// slots, so that the all-to-all's sizes never depend on the routing (CUDA graphs); unused slots carry
// expert id -1, which the owner's expert kernels skip.
struct EpExchange {
  const int32_t* owner = nullptr;  // [num_experts]: the rank that owns each expert
  int ranks = 0, capacity = 0;
  int32_t* send_ids = nullptr;     // [ranks * capacity]
  float* send_weights = nullptr;   // [ranks * capacity]: router weights, applied by the owner's moe_down
  float* send_x = nullptr;         // [ranks * capacity, hidden]
  int32_t* pair_slot = nullptr;    // [m * top_k]: where each pair went (destination * capacity + slot)
};

// Packs the pairs (each destination's in ascending pair order, as the CPU step sends them) and their
// tokens' rows x [m, hidden].
void moe_dispatch(const float* x, const int32_t* expert_ids, const float* weights, int m, int top_k, int hidden,
                  const EpExchange& exchange, cudaStream_t stream);

}  // namespace tachyon::cuda
