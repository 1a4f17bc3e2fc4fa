#include "model/drafter_convert.h"

#include <cstring>
#include <filesystem>
#include <optional>

#include "model/bf16.h"
#include "model/convert_parts.h"
#include "model/drafter_config.h"
#include "model/tensor_names.h"

namespace tachyon {

namespace fs = std::filesystem;
using convert_detail::Emitter;
using convert_detail::Source;

namespace {

// z-lab's names have no prefix; a drafter saved from a wrapper module may carry `model.`.
std::string detect_prefix(const Source& src) {
  if (src.has("fc.weight") || src.has("layers.0.self_attn.q_proj.weight")) return "";
  if (src.has("model.fc.weight") || src.has("model.layers.0.self_attn.q_proj.weight")) return "model.";
  return "";  // the first missing tensor will be named by the error
}

// The mask embedding [H] (or [1, H]) as a safetensors tensor `mask_embedding`: in the drafter's
// safetensors, or in a file mask_embedding.safetensors beside them. MiMo ships mask_embedding.pt, a
// PyTorch pickle that Tachyon cannot read; the error says how to turn it into safetensors.
std::optional<std::vector<float>> read_mask_embedding(Source& src, const fs::path& dir, const std::string& prefix,
                                                      int64_t H) {
  auto check = [&](const std::vector<int64_t>& shape, const std::string& where) {
    const std::vector<int64_t> flat = {H}, row = {1, H};
    TACHYON_REQUIRE(shape == flat || shape == row,
                    "the mask embedding in {} has shape [{}] but the drafter's hidden size is {} (expected [{}] or [1, {}])",
                    where, fmt::join(shape, ", "), H, H, H);
  };
  for (const std::string& name : {prefix + "mask_embedding", std::string("mask_embedding")}) {
    if (!src.has(name)) continue;
    const StTensor& t = src.any_shape(name);
    check(t.shape, fmt::format("tensor '{}' of {}", name, t.file));
    return src.f32_any_shape(name);
  }
  const fs::path st = dir / "mask_embedding.safetensors";
  if (fs::exists(st)) {
    // Read on its own: a directory with model.safetensors (or an index) does not list this file.
    SafetensorsFile file(st.string());
    const auto& tensors = file.tensors();
    auto it = tensors.find("mask_embedding");
    if (it == tensors.end() && tensors.size() == 1) it = tensors.begin();
    TACHYON_REQUIRE(it != tensors.end(), "{}: expected a tensor named 'mask_embedding'", st.string());
    check(it->second.shape, st.string());
    const StTensor& t = it->second;
    std::vector<float> out(static_cast<size_t>(t.numel()));
    switch (t.dtype) {
      case StDtype::F32: std::memcpy(out.data(), t.data, out.size() * sizeof(float)); break;
      case StDtype::BF16:
      case StDtype::F16:
        for (size_t i = 0; i < out.size(); ++i) {
          uint16_t bits;
          std::memcpy(&bits, t.data + 2 * i, sizeof(bits));
          out[i] = t.dtype == StDtype::BF16 ? bf16_to_float(bits) : f16_to_float(bits);
        }
        break;
      default:
        throw Error(fmt::format("{}: the mask embedding must be F32, BF16 or F16", st.string()));
    }
    return out;
  }
  TACHYON_REQUIRE(!fs::exists(dir / "mask_embedding.pt"),
                  "{}: mask_embedding.pt is a PyTorch pickle, which Tachyon cannot read without torch. Convert it to "
                  "safetensors once: python3 scripts/dflash/mask_embedding_to_safetensors.py {} (writes "
                  "mask_embedding.safetensors beside it, which `tachyon convert --drafter` then reads)",
                  (dir / "mask_embedding.pt").string(), dir.string());
  return std::nullopt;
}

}  // namespace

ConvertSummary convert_drafter_directory(const std::string& dir_name, const std::string& out_path,
                                         const ConvertOptions& options, const ConvertProgress& progress) {
  const fs::path dir(dir_name);
  TACHYON_REQUIRE(fs::is_directory(dir), "'{}' is not a directory (expected a DFlash drafter directory)", dir_name);
  const fs::path config_path = dir / "config.json";
  TACHYON_REQUIRE(fs::exists(config_path), "'{}' has no config.json", dir_name);
  TACHYON_REQUIRE(!options.experts, "a DFlash drafter has no experts: drop --experts");
  const std::string config_json = read_text_file(config_path);
  const DrafterConfig d = parse_drafter_config(config_json, config_path.string());
  const ModelConfig& c = d.model;

  Source src(dir_name);
  const std::string p = detect_prefix(src);
  const int64_t H = c.hidden_size, D = c.head_dim, Dv = c.v_head_dim, I = c.dense_intermediate_size;
  const WeightFormat dense = options.dense, f32 = WeightFormat::F32;
  ConvertSummary summary;
  CheckpointWriter writer(out_path, "drafter", config_json, std::nullopt);
  Emitter out(writer, summary);

  // fc [H, K*H]: K is the number of tapped layers; without target_layer_ids in the config it is
  // whatever fc's width says (the target decides the ids at load time).
  const std::string fc_name = p + "fc.weight";
  const StTensor& fc = src.any_shape(fc_name);
  TACHYON_REQUIRE(fc.shape.size() == 2 && fc.shape[0] == H && fc.shape[1] % H == 0 && fc.shape[1] > 0,
                  "tensor '{}' in {} has shape [{}]; expected [{}, K*{}] (K tapped target layers)", fc_name, fc.file,
                  fmt::join(fc.shape, ", "), H, H);
  const int64_t K = fc.shape[1] / H;
  TACHYON_REQUIRE(d.target_layer_ids.empty() || K == d.num_taps(),
                  "tensor '{}' fuses {} tapped layers ([{}]) but the config's target_layer_ids has {} ([{}])", fc_name,
                  K, fmt::join(fc.shape, ", "), d.num_taps(), fmt::join(d.target_layer_ids, ", "));
  out.values(names::kFc, src.f32(fc_name, {H, K * H}), {H, K * H}, dense);
  out.values(names::kHiddenNorm, src.f32(p + "hidden_norm.weight", {H}), {H}, f32);
  out.values(names::kFinalNorm, src.f32(p + "norm.weight", {H}), {H}, f32);

  for (int l = 0; l < c.num_layers; ++l) {
    const LayerConfig& lc = c.layers[l];
    const std::string hf = fmt::format("{}layers.{}.", p, l);
    const int64_t q = lc.num_q_heads * D, k = lc.num_kv_heads * D, v = lc.num_kv_heads * Dv, o_in = lc.num_q_heads * Dv;
    out.values(names::layer(l, "attn_norm"), src.f32(hf + "input_layernorm.weight", {H}), {H}, f32);
    out.values(names::layer(l, "mlp_norm"), src.f32(hf + "post_attention_layernorm.weight", {H}), {H}, f32);
    out.values(names::layer(l, "attn.q"), src.f32(hf + "self_attn.q_proj.weight", {q, H}), {q, H}, dense);
    out.values(names::layer(l, "attn.k"), src.f32(hf + "self_attn.k_proj.weight", {k, H}), {k, H}, dense);
    out.values(names::layer(l, "attn.v"), src.f32(hf + "self_attn.v_proj.weight", {v, H}), {v, H}, dense);
    out.values(names::layer(l, "attn.o"), src.f32(hf + "self_attn.o_proj.weight", {H, o_in}), {H, o_in}, dense);
    out.values(names::layer(l, "attn.q_norm"), src.f32(hf + "self_attn.q_norm.weight", {D}), {D}, f32);
    out.values(names::layer(l, "attn.k_norm"), src.f32(hf + "self_attn.k_norm.weight", {D}), {D}, f32);
    if (c.attention_bias) {
      out.values(names::layer(l, "attn.q_bias"), src.f32(hf + "self_attn.q_proj.bias", {q}), {q}, f32);
      out.values(names::layer(l, "attn.k_bias"), src.f32(hf + "self_attn.k_proj.bias", {k}), {k}, f32);
      out.values(names::layer(l, "attn.v_bias"), src.f32(hf + "self_attn.v_proj.bias", {v}), {v}, f32);
      out.values(names::layer(l, "attn.o_bias"), src.f32(hf + "self_attn.o_proj.bias", {H}), {H}, f32);
    }
    if (lc.sinks) {
      // MiMo names the per-head sink logits attention_sink_bias; gpt-oss-style checkpoints say sinks.
      const int64_t hq = lc.num_q_heads;
      const std::string mimo = hf + "self_attn.attention_sink_bias", oss = hf + "self_attn.sinks";
      out.values(names::layer(l, "attn.sinks"), src.f32(src.has(mimo) || !src.has(oss) ? mimo : oss, {hq}), {hq}, f32);
    }
    out.values(names::layer(l, "mlp.gate"), src.f32(hf + "mlp.gate_proj.weight", {I, H}), {I, H}, dense);
    out.values(names::layer(l, "mlp.up"), src.f32(hf + "mlp.up_proj.weight", {I, H}), {I, H}, dense);
    out.values(names::layer(l, "mlp.down"), src.f32(hf + "mlp.down_proj.weight", {H, I}), {H, I}, dense);
    if (progress) progress(fmt::format("drafter layer {}/{}", l + 1, c.num_layers));
  }

  if (const auto mask = read_mask_embedding(src, dir, p, H)) {
    out.values(names::kMaskEmbedding, *mask, {H}, f32);
    if (progress) progress("mask embedding: the drafter's own (replaces the target's embedding row of mask_token_id)");
  }
  writer.close();
  summary.ignored = src.unused();
  return summary;
}

}  // namespace tachyon
