#include "model/convert.h"

#include <array>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/ranges.h>

#include "model/checkpoint.h"
#include "model/config.h"
#include "model/convert_parts.h"
#include "model/error.h"
#include "model/safetensors.h"
#include "model/tensor_names.h"

namespace tachyon {

namespace fs = std::filesystem;

namespace {

using convert_detail::Emitter;
using convert_detail::Source;

// out[cols, rows] = in[rows, cols] transposed.
std::vector<float> transpose(const float* in, size_t rows, size_t cols) {
  std::vector<float> out(rows * cols);
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c) out[c * rows + r] = in[r * cols + c];
  return out;
}

struct Formats {
  WeightFormat dense, embed, router, experts;
};

Formats choose_formats(const ModelConfig& c, const ConvertOptions& o) {
  Formats f;
  f.dense = o.dense;
  f.embed = f.router = (o.dense == WeightFormat::F32) ? WeightFormat::F32 : WeightFormat::BF16;
  f.experts = o.experts.value_or(c.shipped_expert_format == "mxfp4" ? WeightFormat::MXFP4 : WeightFormat::BF16);
  return f;
}

void require_mxfp4_shape(WeightFormat f, const std::string& name, int64_t cols) {
  TACHYON_REQUIRE(f != WeightFormat::MXFP4 || cols % kMxfp4BlockSize == 0,
                  "tensor '{}': mxfp4 needs the input dimension ({}) to be a multiple of 32; choose --experts bf16",
                  name, cols);
}

// The parts every supported family shares: embeddings, head, norms and attention.
void convert_common(Source& src, Emitter& out, const ModelConfig& c, const Formats& f, const ConvertProgress& progress) {
  const int64_t V = c.vocab_size, H = c.hidden_size, D = c.head_dim, Dv = c.v_head_dim;
  out.values(names::kEmbed, src.f32("model.embed_tokens.weight", {V, H}), {V, H}, f.embed);
  if (!c.tie_word_embeddings) out.values(names::kLmHead, src.f32("lm_head.weight", {V, H}), {V, H}, f.dense);
  out.values(names::kFinalNorm, src.f32("model.norm.weight", {H}), {H}, WeightFormat::F32);
  for (int l = 0; l < c.num_layers; ++l) {
    const LayerConfig& lc = c.layers[l];
    const std::string hf = fmt::format("model.layers.{}.", l);
    const int64_t q = lc.num_q_heads * D, k = lc.num_kv_heads * D, v = lc.num_kv_heads * Dv, o_in = lc.num_q_heads * Dv;
    out.values(names::layer(l, "attn_norm"), src.f32(hf + "input_layernorm.weight", {H}), {H}, WeightFormat::F32);
    out.values(names::layer(l, "mlp_norm"), src.f32(hf + "post_attention_layernorm.weight", {H}), {H}, WeightFormat::F32);
    out.values(names::layer(l, "attn.q"), src.f32(hf + "self_attn.q_proj.weight", {q, H}), {q, H}, f.dense);
    out.values(names::layer(l, "attn.k"), src.f32(hf + "self_attn.k_proj.weight", {k, H}), {k, H}, f.dense);
    out.values(names::layer(l, "attn.v"), src.f32(hf + "self_attn.v_proj.weight", {v, H}), {v, H}, f.dense);
    out.values(names::layer(l, "attn.o"), src.f32(hf + "self_attn.o_proj.weight", {H, o_in}), {H, o_in}, f.dense);
    if (c.attention_bias) {
      out.values(names::layer(l, "attn.q_bias"), src.f32(hf + "self_attn.q_proj.bias", {q}), {q}, WeightFormat::F32);
      out.values(names::layer(l, "attn.k_bias"), src.f32(hf + "self_attn.k_proj.bias", {k}), {k}, WeightFormat::F32);
      out.values(names::layer(l, "attn.v_bias"), src.f32(hf + "self_attn.v_proj.bias", {v}), {v}, WeightFormat::F32);
      out.values(names::layer(l, "attn.o_bias"), src.f32(hf + "self_attn.o_proj.bias", {H}), {H}, WeightFormat::F32);
    }
    if (c.qk_norm) {
      out.values(names::layer(l, "attn.q_norm"), src.f32(hf + "self_attn.q_norm.weight", {D}), {D}, WeightFormat::F32);
      out.values(names::layer(l, "attn.k_norm"), src.f32(hf + "self_attn.k_norm.weight", {D}), {D}, WeightFormat::F32);
    }
    if (lc.sinks) {
      const int64_t hq = lc.num_q_heads;
      out.values(names::layer(l, "attn.sinks"), src.f32(hf + "self_attn.sinks", {hq}), {hq}, WeightFormat::F32);
    }
    if (!lc.moe) {
      const int64_t I = c.dense_intermediate_size;
      out.values(names::layer(l, "mlp.gate"), src.f32(hf + "mlp.gate_proj.weight", {I, H}), {I, H}, f.dense);
      out.values(names::layer(l, "mlp.up"), src.f32(hf + "mlp.up_proj.weight", {I, H}), {I, H}, f.dense);
      out.values(names::layer(l, "mlp.down"), src.f32(hf + "mlp.down_proj.weight", {H, I}), {H, I}, f.dense);
    }
    if (progress) progress(fmt::format("layer {}/{}: attention{}", l + 1, c.num_layers, lc.moe ? "" : " and dense MLP"));
  }
}

// Creates a layer's gate [E, I, H], up [E, I, H] and down [E, H, I] expert tensors, to be filled one
// expert at a time; returns their names.
std::array<std::string, 3> create_expert_tensors(Emitter& out, const Formats& f, int l, int64_t E, int64_t H, int64_t I) {
  const std::string gn = names::layer(l, "moe.gate"), un = names::layer(l, "moe.up"), dn = names::layer(l, "moe.down");
  require_mxfp4_shape(f.experts, gn, H);
  require_mxfp4_shape(f.experts, dn, I);
  out.create_experts(gn, f.experts, {E, I, H});
  out.create_experts(un, f.experts, {E, I, H});
  out.create_experts(dn, f.experts, {E, H, I});
  return {gn, un, dn};
}

// Qwen3-MoE experts: per-expert matrices (what save_pretrained writes), or fused 3-D tensors
// (gate_up_proj [E, 2I, H] with the gate half first, down_proj [E, H, I]).
void convert_qwen3_experts(Source& src, Emitter& out, const ModelConfig& c, const Formats& f, int l) {
  const int64_t E = c.num_experts, H = c.hidden_size, I = c.moe_intermediate_size;
  const std::string hf = fmt::format("model.layers.{}.mlp.", l);
  out.values(names::layer(l, "moe.router"), src.f32(hf + "gate.weight", {E, H}), {E, H}, f.router);
  const auto [gn, un, dn] = create_expert_tensors(out, f, l, E, H, I);
  const bool fused = src.has(hf + "experts.gate_up_proj");
  std::vector<float> fused_gu, fused_dn;
  if (fused) {
    fused_gu = src.f32(hf + "experts.gate_up_proj", {E, 2 * I, H});
    fused_dn = src.f32(hf + "experts.down_proj", {E, H, I});
  }
  for (int64_t e = 0; e < E; ++e) {
    std::vector<float> gate, up, down;
    if (fused) {
      const float* g = fused_gu.data() + e * 2 * I * H;
      gate.assign(g, g + I * H);
      up.assign(g + I * H, g + 2 * I * H);
      down.assign(fused_dn.begin() + e * H * I, fused_dn.begin() + (e + 1) * H * I);
    } else {
      const std::string x = fmt::format("{}experts.{}.", hf, e);
      gate = src.f32(x + "gate_proj.weight", {I, H});
      up = src.f32(x + "up_proj.weight", {I, H});
      down = src.f32(x + "down_proj.weight", {H, I});
    }
    out.expert(gn, e, make_host_weight(gate.data(), {I, H}, f.experts));
    out.expert(un, e, make_host_weight(up.data(), {I, H}, f.experts));
    out.expert(dn, e, make_host_weight(down.data(), {H, I}, f.experts));
  }
}

// Every other row (start, start + 2, ...) of a row-major [rows, width] byte or float matrix.
template <typename T>
std::vector<T> every_other_row(const T* m, size_t rows, size_t width, size_t start) {
  std::vector<T> out;
  out.reserve(rows / 2 * width);
  for (size_t r = start; r < rows; r += 2) out.insert(out.end(), m + r * width, m + (r + 1) * width);
  return out;
}

// gpt-oss experts: MXFP4 blocks/scales (passed through unchanged when the target format is mxfp4), or
// unquantized gate_up_proj [E, H, 2I] and down_proj [E, I, H]. gpt-oss interleaves gate and up (row
// 2j = gate j, 2j+1 = up j); MXFP4 scales are per row, so splitting the rows is exact.
void convert_gpt_oss_experts(Source& src, Emitter& out, const ModelConfig& c, const Formats& f, int l) {
  const int64_t E = c.num_experts, H = c.hidden_size, I = c.moe_intermediate_size;
  const std::string hf = fmt::format("model.layers.{}.mlp.", l);
  out.values(names::layer(l, "moe.router"), src.f32(hf + "router.weight", {E, H}), {E, H}, f.router);
  out.values(names::layer(l, "moe.router_bias"), src.f32(hf + "router.bias", {E}), {E}, WeightFormat::F32);
  const auto gu_bias = src.f32(hf + "experts.gate_up_proj_bias", {E, 2 * I});
  out.values(names::layer(l, "moe.gate_bias"), every_other_row(gu_bias.data(), E * 2 * I, 1, 0), {E, I}, WeightFormat::F32);
  out.values(names::layer(l, "moe.up_bias"), every_other_row(gu_bias.data(), E * 2 * I, 1, 1), {E, I}, WeightFormat::F32);
  out.values(names::layer(l, "moe.down_bias"), src.f32(hf + "experts.down_proj_bias", {E, H}), {E, H}, WeightFormat::F32);
  const auto [gn, un, dn] = create_expert_tensors(out, f, l, E, H, I);
  // Writes one expert matrix, converting from MXFP4 when another format is asked for.
  auto emit = [&](const std::string& name, int64_t e, HostWeight w) {
    if (f.experts != w.format) {
      const std::vector<float> v = w.to_float();
      w = make_host_weight(v.data(), w.shape, f.experts);
    }
    out.expert(name, e, w);
  };
  if (src.has(hf + "experts.gate_up_proj_blocks")) {
    auto tensors = [&](const std::string& n, int64_t rows, int64_t cols) {
      TACHYON_REQUIRE(cols % kMxfp4BlockSize == 0, "tensor '{}': input dimension {} is not a multiple of 32", n, cols);
      const StTensor& b = src.tensor(n + "_blocks", {E, rows, cols / 32, 16});
      const StTensor& s = src.tensor(n + "_scales", {E, rows, cols / 32});
      TACHYON_REQUIRE(b.dtype == StDtype::U8 && s.dtype == StDtype::U8, "tensor '{}': MXFP4 blocks and scales must be U8", n);
      return std::pair{&b, &s};
    };
    const auto [gu_b, gu_s] = tensors(hf + "experts.gate_up_proj", 2 * I, H);
    const auto [dn_b, dn_s] = tensors(hf + "experts.down_proj", H, I);
    const size_t gu_row = H / 2, gu_srow = H / kMxfp4BlockSize, dn_row = I / 2, dn_srow = I / kMxfp4BlockSize;
    for (int64_t e = 0; e < E; ++e) {
      const uint8_t* b = gu_b->data + e * 2 * I * gu_row;
      const uint8_t* s = gu_s->data + e * 2 * I * gu_srow;
      for (int half = 0; half < 2; ++half) {
        HostWeight w;
        w.format = WeightFormat::MXFP4;
        w.shape = {I, H};
        w.data = every_other_row(b, 2 * I, gu_row, half);
        w.scales = every_other_row(s, 2 * I, gu_srow, half);
        emit(half == 0 ? gn : un, e, std::move(w));
      }
      HostWeight d;
      d.format = WeightFormat::MXFP4;
      d.shape = {H, I};
      d.data.assign(dn_b->data + e * H * dn_row, dn_b->data + (e + 1) * H * dn_row);
      d.scales.assign(dn_s->data + e * H * dn_srow, dn_s->data + (e + 1) * H * dn_srow);
      emit(dn, e, std::move(d));
    }
    return;
  }
  const auto w1 = src.f32(hf + "experts.gate_up_proj", {E, H, 2 * I});
  const auto w2 = src.f32(hf + "experts.down_proj", {E, I, H});
  for (int64_t e = 0; e < E; ++e) {
    const auto gate_up = transpose(w1.data() + e * H * 2 * I, H, 2 * I);  // [2I, H], rows interleaved
    const auto down = transpose(w2.data() + e * I * H, I, H);             // [H, I]
    const auto gate = every_other_row(gate_up.data(), 2 * I, H, 0), up = every_other_row(gate_up.data(), 2 * I, H, 1);
    out.expert(gn, e, make_host_weight(gate.data(), {I, H}, f.experts));
    out.expert(un, e, make_host_weight(up.data(), {I, H}, f.experts));
    out.expert(dn, e, make_host_weight(down.data(), {H, I}, f.experts));
  }
}

}  // namespace

ConvertSummary convert_hf_directory(const std::string& hf_dir, const std::string& out_path, const ConvertOptions& options,
                                    const ConvertProgress& progress) {
  const fs::path dir(hf_dir);
  TACHYON_REQUIRE(fs::is_directory(dir), "'{}' is not a directory (expected a Hugging Face model directory)", hf_dir);
  const fs::path config_path = dir / "config.json";
  TACHYON_REQUIRE(fs::exists(config_path), "'{}' has no config.json", hf_dir);
  const std::string config_json = read_text_file(config_path);
  const ModelConfig c = parse_model_config(config_json, config_path.string());
  std::optional<std::string> tokenizer;
  if (fs::exists(dir / "tokenizer.json")) tokenizer = read_text_file(dir / "tokenizer.json");

  Source src(hf_dir);
  ConvertSummary summary;
  CheckpointWriter writer(out_path, "target", config_json, tokenizer);
  Emitter out(writer, summary);
  const Formats f = choose_formats(c, options);
  convert_common(src, out, c, f, progress);
  for (int l = 0; l < c.num_layers; ++l) {
    if (!c.layers[l].moe) continue;
    if (c.family == ModelFamily::GptOss) convert_gpt_oss_experts(src, out, c, f, l);
    else convert_qwen3_experts(src, out, c, f, l);
    if (progress) progress(fmt::format("layer {}/{}: {} experts as {}", l + 1, c.num_layers, c.num_experts, format_name(f.experts)));
  }
  writer.close();
  summary.ignored = src.unused();
  return summary;
}

}  // namespace tachyon
