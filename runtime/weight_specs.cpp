#include "runtime/weight_specs.h"

#include <cmath>

#include "model/fp8.h"
#include "model/mxfp4.h"

namespace tachyon {

size_t WeightSpec::elements() const {
  if (shape.empty()) return 0;
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  return n;
}

size_t WeightSpec::bytes() const {
  if (shape.empty()) return 0;
  const size_t cols = static_cast<size_t>(shape.back());
  const size_t rows = shape.size() >= 2 ? static_cast<size_t>(shape[shape.size() - 2]) : 1;
  const size_t experts = shape.size() == 3 ? static_cast<size_t>(shape[0]) : 1;
  size_t b = weight_data_bytes(format, experts * rows, cols);
  if (format == WeightFormat::FP8) b += experts * fp8_scale_rows(rows) * fp8_scale_cols(cols) * sizeof(float);
  if (format == WeightFormat::MXFP4) b += experts * rows * (cols / kMxfp4BlockSize);
  return b;
}

TargetWeightSpecs target_weight_specs(const ModelConfig& c, const ShardPlan& p, WeightFormat dense, WeightFormat experts) {
  const WeightFormat small = dense == WeightFormat::F32 ? WeightFormat::F32 : WeightFormat::BF16;
  const int64_t H = c.hidden_size, D = c.head_dim, Dv = c.v_head_dim, E = c.num_experts;
  const int64_t V = p.vocab.size(), El = p.experts.size(), Il = p.expert_intermediate.size(), Idl = p.dense_intermediate.size();
  auto inv_sqrt = [](int64_t n) { return static_cast<float>(1.0 / std::sqrt(static_cast<double>(n))); };
  auto spec = [](WeightFormat f, std::vector<int64_t> shape, float stddev, float mean = 0.0f) {
    return WeightSpec{f, std::move(shape), mean, stddev};
  };
  auto vec = [&](bool present, int64_t n, float stddev, float mean = 0.0f) {
    return present ? spec(WeightFormat::F32, {n}, stddev, mean) : WeightSpec{};
  };
  auto norm = [&](bool present, int64_t n) { return vec(present, n, 0.05f, 1.0f); };
  TargetWeightSpecs w;
  w.embed = spec(small, {V, H}, 1.0f);
  if (!c.tie_word_embeddings) w.lm_head = spec(dense, {V, H}, inv_sqrt(H));
  w.final_norm = norm(true, H);
  for (int l = 0; l < c.num_layers; ++l) {
    const LayerConfig& lc = c.layers[l];
    const AttentionShard& a = p.attention[l];
    const int64_t q = a.q_heads.size(), kv = a.kv_heads.size();
    LayerWeightsT<WeightSpec> lw;
    lw.attn_norm = norm(true, H);
    lw.mlp_norm = norm(true, H);
    AttentionWeightsT<WeightSpec>& at = lw.attn;
    at.q = spec(dense, {q * D, H}, inv_sqrt(H));
    at.k = spec(dense, {kv * D, H}, inv_sqrt(H));
    at.v = spec(dense, {kv * Dv, H}, inv_sqrt(H));
    at.o = spec(dense, {H, q * Dv}, inv_sqrt(int64_t(lc.num_q_heads) * Dv));  // fan-in of the whole matrix
    at.q_bias = vec(c.attention_bias, q * D, 0.1f);
    at.k_bias = vec(c.attention_bias, kv * D, 0.1f);
    at.v_bias = vec(c.attention_bias, kv * Dv, 0.1f);
    at.o_bias = vec(c.attention_bias, H, 0.1f);
    at.q_norm = norm(c.qk_norm, D);
    at.k_norm = norm(c.qk_norm, D);
    at.sinks = vec(lc.sinks, q, 1.0f);
    if (!lc.moe) {
      lw.mlp.gate = spec(dense, {Idl, H}, inv_sqrt(H));
      lw.mlp.up = spec(dense, {Idl, H}, inv_sqrt(H));
      lw.mlp.down = spec(dense, {H, Idl}, inv_sqrt(c.dense_intermediate_size));
    } else {
      MoeWeightsT<WeightSpec>& m = lw.moe;
      m.router = spec(small, {E, H}, inv_sqrt(H));
      m.router_bias = vec(c.router_bias, E, 0.1f);
      m.correction_bias = vec(c.router_correction_bias, E, 0.1f);
      m.gate = spec(experts, {El, Il, H}, inv_sqrt(H));
      m.up = spec(experts, {El, Il, H}, inv_sqrt(H));
      m.down = spec(experts, {El, H, Il}, inv_sqrt(c.moe_intermediate_size));
      if (c.expert_bias) {
        m.gate_bias = spec(WeightFormat::F32, {El, Il}, 0.1f);
        m.up_bias = spec(WeightFormat::F32, {El, Il}, 0.1f);
        m.down_bias = spec(WeightFormat::F32, {El, H}, 0.1f);
      }
    }
    w.layers.push_back(std::move(lw));
  }
  return w;
}

}  // namespace tachyon
