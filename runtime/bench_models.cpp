#include "runtime/bench_models.h"

#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

#include "model/checkpoint.h"
#include "model/error.h"
#include "model/text_file.h"

namespace tachyon {

namespace {

using nlohmann::json;

// Hugging Face config.json values of the published models.
json qwen3_moe(int layers, int hidden, int q_heads, int experts, int moe_inter) {
  return {{"model_type", "qwen3_moe"}, {"vocab_size", 151936}, {"hidden_size", hidden}, {"num_hidden_layers", layers},
          {"num_attention_heads", q_heads}, {"num_key_value_heads", 4}, {"head_dim", 128},
          {"num_experts", experts}, {"num_experts_per_tok", 8}, {"moe_intermediate_size", moe_inter},
          {"intermediate_size", hidden * 3}, {"norm_topk_prob", true}, {"rope_theta", 1e6},
          {"max_position_embeddings", 40960}, {"rms_norm_eps", 1e-6}, {"tie_word_embeddings", false}};
}

json gpt_oss_120b() {
  return {{"model_type", "gpt_oss"}, {"vocab_size", 201088}, {"hidden_size", 2880}, {"num_hidden_layers", 36},
          {"num_attention_heads", 64}, {"num_key_value_heads", 8}, {"head_dim", 64}, {"num_local_experts", 128},
          {"num_experts_per_tok", 4}, {"intermediate_size", 2880}, {"sliding_window", 128},
          {"max_position_embeddings", 131072}, {"rms_norm_eps", 1e-5}, {"tie_word_embeddings", false}};
}

// MiMo-V2.5-Pro (shared/reference/quant-and-models.md section 5): 70 layers (layer 0 dense, 69 MoE), 384
// experts top-8 of intermediate 2048, hidden 6144, 128 query / 8 KV heads, q/k head dim 192 with RoPE on
// 64 of them, v head dim 128, hybrid sliding-window (128) and global attention, sinks on the sliding
// layers, value scale 0.612, sigmoid router with correction bias. The qwen3_moe family carries the
// shape; the fields it cannot express are set on the parsed config.
BenchModel mimo_v25_pro_slice() {
  const int layers = 70;
  std::vector<std::string> types;
  for (int i = 0; i < layers; ++i) types.push_back(i % 7 == 0 ? "full_attention" : "sliding_attention");
  const json j = {{"model_type", "qwen3_moe"}, {"vocab_size", 152576}, {"hidden_size", 6144},
                  {"num_hidden_layers", layers}, {"num_attention_heads", 128}, {"num_key_value_heads", 8},
                  {"head_dim", 192}, {"partial_rotary_factor", 0.3334}, {"num_experts", 384},
                  {"num_experts_per_tok", 8}, {"moe_intermediate_size", 2048}, {"intermediate_size", 16384},
                  {"mlp_only_layers", {0}}, {"norm_topk_prob", true}, {"rope_theta", 5e6},
                  {"max_position_embeddings", 1048576}, {"layer_types", types}, {"sliding_window", 128},
                  {"rms_norm_eps", 1e-6}, {"tie_word_embeddings", false}};
  BenchModel m{"mimo-v2.5-pro-slice", parse_model_config(j, "mimo-v2.5-pro-slice preset"), 8, ""};
  ModelConfig& c = m.config;
  c.v_head_dim = 128;
  c.qk_norm = false;
  c.value_scale = 0.612f;
  c.router = RouterKind::SigmoidTopK;
  c.router_correction_bias = true;
  for (LayerConfig& l : c.layers) l.sinks = l.sliding;
  m.note = "MiMo-V2.5-Pro shape in the qwen3_moe family (no MiMo parser yet): assumed, not published: the "
           "sliding/global split (global on every 7th layer from 0: 10 global, 60 sliding; KV ~1/7), the dense "
           "layer 0's intermediate 16384 (MiMo-V2-Flash's), vocab 152576 (MiMo-V2-Flash's); differs: router "
           "weights BF16 (FP32 in MiMo), o_proj and LM head FP8 (BF16 in MiMo's FP8 checkpoint), no MTP layers";
  return m;
}

}  // namespace

std::vector<std::string> bench_model_names() {
  return {"qwen3-30b-a3b", "qwen3-235b-a22b", "gpt-oss-120b", "mimo-v2.5-pro-slice"};
}

BenchModel bench_model(std::string_view name) {
  if (name == "qwen3-30b-a3b")
    return {std::string(name), parse_model_config(qwen3_moe(48, 2048, 32, 128, 768), "qwen3-30b-a3b preset"), 1, ""};
  if (name == "qwen3-235b-a22b")
    return {std::string(name), parse_model_config(qwen3_moe(94, 4096, 64, 128, 1536), "qwen3-235b-a22b preset"), 8, ""};
  if (name == "gpt-oss-120b") return {std::string(name), parse_model_config(gpt_oss_120b(), "gpt-oss-120b preset"), 1, ""};
  if (name == "mimo-v2.5-pro-slice") return mimo_v25_pro_slice();
  // Any other shape: a checkpoint's config (its weights are not read: the bench makes random ones), or a
  // config.json, for a shape of one's own (the embedded default pair's target, a fine-tune's config).
  const std::string path(name);
  const std::string stem = std::filesystem::path(path).stem().string();
  if (path.ends_with(".h5")) return {stem, target_model_config(CheckpointReader(path)), 1, ""};
  if (path.ends_with(".json")) return {stem, parse_model_config(read_text_file(path), path), 1, ""};
  throw Error(fmt::format("--model: '{}' is not a benchmark model ({}), a checkpoint (.h5) or a config.json", name,
                          fmt::join(bench_model_names(), ", ")));
}

}  // namespace tachyon
