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

// The same structure holds host weights (CPU backend) or device weights (CUDA backend): W is HostWeight
// or cuda::DeviceWeight. Vectors (norms, biases, sinks) are always FP32.
template <typename W>
struct AttentionWeightsT {
  W q, k, v, o;                       // q/k/v: this rank's heads (rows); o: their columns
  W q_bias, k_bias, v_bias, o_bias;   // f32; o_bias is whole (added once after the reduction)
  W q_norm, k_norm;                   // f32 [head_dim]
  W sinks;                            // f32, this rank's heads
};

template <typename W>
struct DenseMlpWeightsT {
  W gate, up, down;  // intermediate slice: gate/up rows [i0, i1), down columns [i0, i1)
};

template <typename W>
struct MoeWeightsT {
  W router;                           // [E, H], every rank
  W router_bias, correction_bias;     // f32 [E]
  W gate, up, down;                   // [local experts, I_slice, H] x2, [local experts, H, I_slice]
  W gate_bias, up_bias, down_bias;    // f32 [local experts, I_slice] x2, [local experts, H]
};

template <typename W>
struct LayerWeightsT {
  W attn_norm, mlp_norm;  // f32 [H]
  AttentionWeightsT<W> attn;
  DenseMlpWeightsT<W> mlp;
  MoeWeightsT<W> moe;
};

template <typename W>
struct TargetWeightsT {
  W embed;    // vocabulary slice [V_local, H]
  W lm_head;  // vocabulary slice; empty when tied to embed
  W final_norm;
  std::vector<LayerWeightsT<W>> layers;

  const W& head() const { return lm_head.empty() ? embed : lm_head; }
};

using AttentionWeights = AttentionWeightsT<HostWeight>;
using DenseMlpWeights = DenseMlpWeightsT<HostWeight>;
using MoeWeights = MoeWeightsT<HostWeight>;
using LayerWeights = LayerWeightsT<HostWeight>;
using TargetWeights = TargetWeightsT<HostWeight>;

// Progress callback: (tensors done, tensors total, bytes read so far).
using LoadProgress = std::function<void(size_t, size_t, uint64_t)>;

// Reads this rank's shard tensor by tensor; `place` turns each HostWeight into a W (a device upload, or
// the identity), so that at most one tensor is in host memory at a time when W lives elsewhere. A placement
// that only copies the tensor leaves the HostWeight as it was: the loader reads the next tensor into the same
// buffers (measured: a fresh buffer a tensor spent more than half of a load from the page cache in page faults).
template <typename W>
using PlaceWeight = std::function<W(HostWeight&&)>;

TargetWeights load_target_weights(const CheckpointReader& reader, const ModelConfig& config, const ShardPlan& plan,
                                  const LoadProgress& progress = {});

template <typename W>
TargetWeightsT<W> load_target_weights_to(const CheckpointReader& reader, const ModelConfig& config, const ShardPlan& plan,
                                         const PlaceWeight<W>& place, const LoadProgress& progress = {});

// The FP32 values of an f32 HostWeight (vectors: norms, biases, sinks).
const float* f32_data(const HostWeight& w);

}  // namespace tachyon
