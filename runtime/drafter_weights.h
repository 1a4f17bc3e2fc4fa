// The weights a DFlash drafter holds (on rank 0, which drafts): the drafter's own (fc, hidden_norm, the
// draft layers, final_norm), and for its use the target's whole embedding and LM head (every row: the
// drafter embeds the anchor and the mask token, and turns its output into logits over the full
// vocabulary), plus the mask embedding. Matrices stay in their stored format; vectors are f32.
// Every tensor's shape is checked against the configs; a mismatch names the file and the tensor.
// Like TargetWeightsT, the structure holds host weights (CpuDrafter) or device weights (CudaDrafter).
#pragma once

#include <vector>

#include "model/checkpoint.h"
#include "model/config.h"
#include "model/drafter_config.h"
#include "model/weight.h"
#include "runtime/target_weights.h"

namespace tachyon {

template <typename W>
struct DrafterLayerWeightsT {
  W attn_norm, mlp_norm;       // f32 [H]
  AttentionWeightsT<W> attn;   // q/k/v/o, q_norm/k_norm, biases and sinks when configured
  DenseMlpWeightsT<W> mlp;     // gate/up [I, H], down [H, I]
};

template <typename W>
struct DrafterWeightsT {
  W fc;                        // [H, K*H]: the K tapped target layers, concatenated, to one row
  W hidden_norm;               // f32 [H]
  std::vector<DrafterLayerWeightsT<W>> layers;
  W final_norm;                // f32 [H], the drafter's own (the target's final norm is not used)
  W embed;                     // the target's [V, H]
  W lm_head;                   // the target's [V, H]; empty when the target ties it to embed
  // f32 [H]: the drafter's `mask_embedding` when it ships one (MiMo), else the target's embedding row of
  // mask_token_id.
  W mask_embedding;

  const W& head() const { return lm_head.empty() ? embed : lm_head; }
};

using DrafterLayerWeights = DrafterLayerWeightsT<HostWeight>;
using DrafterWeights = DrafterWeightsT<HostWeight>;

// A drafter checkpoint's config, validated against the target checkpoint's (whose config comes too).
struct DrafterConfigs {
  DrafterConfig drafter;
  ModelConfig target;
};
DrafterConfigs read_drafter_configs(const CheckpointReader& drafter, const CheckpointReader& target);

// `drafter_config` must have been validated against `target_config` (validate_drafter_for_target).
DrafterWeights load_drafter_weights(const CheckpointReader& drafter, const DrafterConfig& drafter_config,
                                    const CheckpointReader& target, const ModelConfig& target_config);

// The same, placing each tensor (a device upload, say) as soon as it is read, so that at most one tensor
// is in host memory at a time. The body is in drafter_weights_load.h.
template <typename W>
DrafterWeightsT<W> load_drafter_weights_to(const CheckpointReader& drafter, const DrafterConfig& drafter_config,
                                           const CheckpointReader& target, const ModelConfig& target_config,
                                           const PlaceWeight<W>& place);

}  // namespace tachyon
