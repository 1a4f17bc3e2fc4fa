// The configuration of a DFlash drafter (reference/dflash.md sections 1 and 7): z-lab's `config.json`,
// which is a dense Qwen3 config (the draft layers' shapes, parsed by parse_model_config) plus the
// DFlash fields: `block_size`, `dflash_config.{mask_token_id, target_layer_ids, use_swa,
// swa_window_size, causal}`, `num_target_layers`, `layer_types` + `sliding_window`, and MiMo's
// `attention_sink_bias` and `attention_value_scale`. Fields that may sit at the top level or inside
// `dflash_config` are accepted in either place (an error when both are given and differ). Anything
// else is refused, as parse_model_config refuses unknown fields.
//
// Attention per draft layer (dflash.md 1.3, following vLLM's resolver):
//   sliding  use_swa: every layer (refused when `layer_types` mixes sliding and full layers, since the
//            readers disagree there); otherwise `layer_types[l] == "sliding_attention"`.
//   window   `swa_window_size`, else `sliding_window`: a query at position q sees keys j > q - window.
//   causal   `causal` when given, for every layer; otherwise true exactly for the layers that
//            `layer_types` marks sliding (SpecForge trains those causally inside the block), false for
//            the rest (the original DFlash: every block position sees the whole block).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "model/config.h"

namespace tachyon {

// The largest block Tachyon drafts (1 anchor + 15 drafts, the released drafters' "-b16").
inline constexpr int kMaxDraftBlock = 16;

struct DrafterConfig {
  // The draft layers: hidden size, heads, head_dim, RoPE, norms, dense MLP; per layer the resolved
  // sliding window (`layers[l].sliding`, `.sliding_window`) and sinks (`.sinks`); `value_scale`.
  ModelConfig model;
  std::vector<bool> causal;            // per draft layer: causal inside the block (see above)
  int block_size = 0;                  // the block the drafter was trained with (anchor + drafts)
  int32_t mask_token_id = -1;          // the target's token whose embedding fills the masked slots
  // 0-based target decoder layers whose OUTPUT (residual stream, before any final norm) is tapped:
  // id L is Hugging Face's hidden_states[L + 1]. Concatenated in this order, they are fc's input.
  std::vector<int> target_layer_ids;
  int num_target_layers = 0;           // as declared by the config; 0 when absent

  int num_taps() const { return static_cast<int>(target_layer_ids.size()); }
  int num_layers() const { return model.num_layers; }
};

// z-lab's default taps: round(1 + i * (N_target - 4) / (N_draft - 1)) for i < N_draft (Python's round,
// half to even), i.e. evenly spaced from layer 1 to layer N_target - 3; [N_target / 2] for one draft layer.
std::vector<int> build_target_layer_ids(int num_target_layers, int num_draft_layers);

// Parses a drafter's config.json. `origin` (a path) names it in errors. When `target_layer_ids` is
// absent it is derived from `num_target_layers` if that is given; otherwise it stays empty until
// validate_drafter_for_target fills it from the target.
DrafterConfig parse_drafter_config(const std::string& config_json, const std::string& origin);
DrafterConfig parse_drafter_config(const nlohmann::json& config, const std::string& origin);

// Completes and checks a drafter against the target it drafts for: fills default target_layer_ids from
// the target's layer count when the config gave neither them nor num_target_layers, then requires equal
// hidden sizes (the drafter runs on the target's embedding and LM head) and vocabularies,
// num_target_layers (when given) = the target's layers, every tapped layer inside the target, and
// mask_token_id inside the vocabulary. Each mismatch is an error naming the field and both values.
void validate_drafter_for_target(DrafterConfig& drafter, const std::string& drafter_origin, const ModelConfig& target,
                                 const std::string& target_origin);

}  // namespace tachyon
