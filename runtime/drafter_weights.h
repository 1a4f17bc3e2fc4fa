// The weights the CPU DFlash drafter holds (on rank 0, which drafts): the drafter's own (fc,
// hidden_norm, the draft layers, final_norm), and for its use the target's whole embedding and LM head
// (every row: the drafter embeds the anchor and the mask token, and turns its output into logits over
// the full vocabulary), plus the mask embedding. Matrices stay in their stored format; vectors are f32.
// Every tensor's shape is checked against the configs; a mismatch names the file and the tensor.
#pragma once

#include <vector>

#include "model/checkpoint.h"
#include "model/config.h"
#include "model/drafter_config.h"
#include "model/weight.h"
#include "runtime/target_weights.h"

namespace tachyon {

struct DrafterLayerWeights {
  HostWeight attn_norm, mlp_norm;  // f32 [H]
  AttentionWeights attn;           // q/k/v/o, q_norm/k_norm, biases and sinks when configured
  DenseMlpWeights mlp;             // gate/up [I, H], down [H, I]
};

struct DrafterWeights {
  HostWeight fc;                   // [H, K*H]: the K tapped target layers, concatenated, to one row
  HostWeight hidden_norm;          // f32 [H]
  std::vector<DrafterLayerWeights> layers;
  HostWeight final_norm;           // f32 [H], the drafter's own (the target's final norm is not used)
  HostWeight embed;                // the target's [V, H]
  HostWeight lm_head;              // the target's [V, H]; empty when the target ties it to embed
  // [H]: the drafter's `mask_embedding` when it ships one (MiMo), else the target's embedding row of
  // mask_token_id.
  std::vector<float> mask_embedding;

  const HostWeight& head() const { return lm_head.empty() ? embed : lm_head; }
};

// `drafter_config` must have been validated against `target_config` (validate_drafter_for_target).
DrafterWeights load_drafter_weights(const CheckpointReader& drafter, const DrafterConfig& drafter_config,
                                    const CheckpointReader& target, const ModelConfig& target_config);

}  // namespace tachyon
