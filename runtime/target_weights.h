// The weights one rank holds for the target model: its shard, as stored (no conversion to FP32),
// read from the checkpoint with hyperslab reads so that no rank reads more than its part. Every
// tensor's shape is checked against the config; a mismatch names the tensor.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "model/checkpoint.h"
#include "model/config.h"
#include "model/weight.h"
#include "runtime/shard_plan.h"

namespace tachyon {

struct AttentionWeights {
  HostWeight q, k, v, o;                       // q/k/v: this rank's heads (rows); o: their columns
  HostWeight q_bias, k_bias, v_bias, o_bias;   // f32; o_bias is whole (added once after the reduction)
  HostWeight q_norm, k_norm;                   // f32 [head_dim]
  HostWeight sinks;                            // f32, this rank's heads
};

struct DenseMlpWeights {
  HostWeight gate, up, down;  // intermediate slice: gate/up rows [i0, i1), down columns [i0, i1)
};

struct MoeWeights {
  HostWeight router;                            // [E, H], every rank
  HostWeight router_bias, correction_bias;      // f32 [E]
  HostWeight gate, up, down;                    // [local experts, I_slice, H] x2, [local experts, H, I_slice]
  HostWeight gate_bias, up_bias, down_bias;     // f32 [local experts, I_slice] x2, [local experts, H]
};

struct LayerWeights {
  HostWeight attn_norm, mlp_norm;  // f32 [H]
  AttentionWeights attn;
  DenseMlpWeights mlp;
  MoeWeights moe;
};

struct TargetWeights {
  HostWeight embed;    // vocabulary slice [V_local, H]
  HostWeight lm_head;  // vocabulary slice; empty when tied to embed
  HostWeight final_norm;
  std::vector<LayerWeights> layers;

  const HostWeight& head() const { return lm_head.empty() ? embed : lm_head; }
};

// Progress callback: (tensors done, tensors total, bytes read so far).
using LoadProgress = std::function<void(size_t, size_t, uint64_t)>;

TargetWeights load_target_weights(const CheckpointReader& reader, const ModelConfig& config, const ShardPlan& plan,
                                  const LoadProgress& progress = {});

// The FP32 values of an f32 HostWeight (vectors: norms, biases, sinks).
const float* f32_data(const HostWeight& w);

}  // namespace tachyon
