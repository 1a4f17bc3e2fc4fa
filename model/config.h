// The model configuration: one type for every supported family, read from a Hugging Face
// `config.json` (transformers 4.x and 5.x spellings). Families: Qwen3-MoE (`qwen3_moe`), dense Qwen3
// (`qwen3`, also the DFlash drafter's layer type), gpt-oss (`gpt_oss`). The per-layer fields carry
// what the MiMo-V2 family needs as well (hybrid sliding/global attention, sinks on some layers, partial
// RoPE with per-layer theta, value scale, sigmoid router with correction bias).
//
// Parsing refuses what it does not understand: an unknown field, a wrong type, or an inconsistent
// value raises tachyon::Error naming the field (a silently ignored field could change the math).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace tachyon {

enum class ModelFamily { Qwen3Moe, Qwen3, GptOss };
enum class RopeKind { Default, Yarn };
// How expert scores and weights come from the router logits:
//   SoftmaxTopK   softmax over all experts (FP32), top-k, optionally renormalised (Qwen3-MoE)
//   TopKSoftmax   logits (+ router bias), top-k, softmax over the k selected (gpt-oss)
//   SigmoidTopK   sigmoid scores, top-k chosen on score + correction bias, weights = scores of the
//                 chosen (optionally renormalised), times routed_scaling_factor (MiMo-V2, DeepSeek-V3)
enum class RouterKind { SoftmaxTopK, TopKSoftmax, SigmoidTopK };
// Standard: silu(gate) * up. GptOssClamped: gate = min(gate, limit), up = clamp(up, -limit, limit),
// (up + 1) * gate * sigmoid(alpha * gate).
enum class SwigluKind { Standard, GptOssClamped };

struct RopeConfig {
  RopeKind kind = RopeKind::Default;
  double theta = 10000.0;
  int rotary_dim = 0;  // leading dims of each head that rotate (partial RoPE); the rest pass through
  // YaRN
  double factor = 1.0;
  double beta_fast = 32.0, beta_slow = 1.0;
  int64_t original_max_position = 0;
  bool truncate = true;
  double attention_factor = 1.0;  // multiplies cos and sin

  // Inverse frequencies, rotary_dim / 2 of them (HF's rope init functions).
  std::vector<float> inverse_frequencies() const;
};

struct LayerConfig {
  bool sliding = false;
  int sliding_window = 0;     // tokens a query sees, itself included (keys in (pos - window, pos])
  bool sinks = false;         // learned per-head sink logit in the softmax denominator
  int num_q_heads = 0;
  int num_kv_heads = 0;
  RopeConfig rope;
  bool moe = false;           // MoE MLP, or the dense MLP
};

struct ModelConfig {
  ModelFamily family = ModelFamily::Qwen3Moe;
  std::string model_type;
  int vocab_size = 0;
  int hidden_size = 0;
  int num_layers = 0;
  int head_dim = 0;            // query/key head dimension
  int v_head_dim = 0;          // value head dimension (= head_dim unless the family differs)
  float rms_norm_eps = 1e-6f;
  int64_t max_position_embeddings = 0;
  bool tie_word_embeddings = false;

  // attention
  bool qk_norm = false;
  bool attention_bias = false;  // q/k/v/o biases
  float attention_scale = 0.0f; // logits = q.k * scale (1/sqrt(head_dim))
  float value_scale = 1.0f;     // multiplies V (MiMo's attention_value_scale)

  // MLPs
  int dense_intermediate_size = 0;
  int num_experts = 0;
  int top_k = 0;
  int moe_intermediate_size = 0;
  RouterKind router = RouterKind::SoftmaxTopK;
  bool norm_topk_prob = false;
  float routed_scaling_factor = 1.0f;
  bool router_bias = false;        // gpt-oss: added to the logits
  bool router_correction_bias = false;
  SwigluKind swiglu = SwigluKind::Standard;
  float swiglu_limit = 0.0f, swiglu_alpha = 1.0f;
  bool expert_bias = false;        // gpt-oss: biases on both expert projections

  std::vector<LayerConfig> layers;
  std::vector<int32_t> eos_token_ids;
  int32_t bos_token_id = -1;
  // Experts as shipped (gpt-oss: "mxfp4"); empty when the checkpoint has unquantized experts.
  std::string shipped_expert_format;

  bool has_moe() const { return num_experts > 0; }
  int num_q_heads() const { return layers.empty() ? 0 : layers[0].num_q_heads; }
  int max_kv_heads() const;
  // Parameters: every weight, and those one token touches (dense weights + top_k experts per MoE layer).
  int64_t total_parameters() const;
  int64_t active_parameters() const;
};

// Parses config.json text. `origin` (a path) is used in error messages.
ModelConfig parse_model_config(const std::string& config_json, const std::string& origin);
ModelConfig parse_model_config(const nlohmann::json& config, const std::string& origin);
// The same for a config whose top level also carries fields that another parser reads (a DFlash
// drafter's `block_size`, `dflash_config`, ...): the `caller_fields` present are left to the caller,
// neither read nor refused here; every other unknown field is still refused.
ModelConfig parse_model_config(const nlohmann::json& config, const std::string& origin,
                               const std::set<std::string>& caller_fields);

std::string_view family_name(ModelFamily f);

}  // namespace tachyon
