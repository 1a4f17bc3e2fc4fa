#include "runtime/step_roofline.h"

#include <algorithm>
#include <cmath>

#include "model/error.h"

namespace tachyon {

double expected_distinct_experts(int local_experts, int num_experts, int top_k, int tokens) {
  TACHYON_CHECK(num_experts > 0 && top_k > 0 && top_k <= num_experts && tokens >= 0,
                "expected_distinct_experts({}, {}, {}, {})", local_experts, num_experts, top_k, tokens);
  const double untouched = std::pow(1.0 - static_cast<double>(top_k) / num_experts, tokens);
  return local_experts * (1.0 - untouched);
}

double expert_bytes(const TargetWeightSpecs& specs, int layer) {
  const MoeWeightsT<WeightSpec>& m = specs.layers[layer].moe;
  if (m.gate.empty() || m.gate.shape[0] == 0) return 0;
  double b = 0;
  for (const WeightSpec* w : {&m.gate, &m.up, &m.down, &m.gate_bias, &m.up_bias, &m.down_bias}) b += w->bytes();
  return b / static_cast<double>(m.gate.shape[0]);
}

StepBytes step_bytes(const ModelConfig& c, const ShardPlan& plan, const TargetWeightSpecs& specs, const StepShape& shape,
                     const std::vector<double>& touched_experts) {
  TACHYON_CHECK(static_cast<int>(touched_experts.size()) == c.num_layers, "{} touched-expert counts for {} layers",
                touched_experts.size(), c.num_layers);
  StepBytes b;
  // The embedding is a lookup (one row per token) unless it is also the LM head, which reads it whole.
  if (c.tie_word_embeddings) b.dense += specs.embed.bytes();
  else b.dense += specs.lm_head.bytes() + static_cast<double>(shape.tokens()) * specs.embed.bytes() / specs.embed.shape[0];
  b.dense += specs.final_norm.bytes();
  for (int l = 0; l < c.num_layers; ++l) {
    const LayerWeightsT<WeightSpec>& w = specs.layers[l];
    const auto& a = w.attn;
    const auto& m = w.moe;
    for (const WeightSpec* s : {&w.attn_norm, &w.mlp_norm, &a.q, &a.k, &a.v, &a.o, &a.q_bias, &a.k_bias, &a.v_bias,
                                &a.o_bias, &a.q_norm, &a.k_norm, &a.sinks, &w.mlp.gate, &w.mlp.up, &w.mlp.down, &m.router,
                                &m.router_bias, &m.correction_bias})
      b.dense += s->bytes();
    b.experts += touched_experts[l] * expert_bytes(specs, l);
    // The step's queries at [context, context + n) read keys (context - window, context + n) on a
    // sliding layer, [0, context + n) otherwise.
    const LayerConfig& lc = c.layers[l];
    const int n = shape.tokens_per_seq;
    const int visible = lc.sliding ? std::min(shape.context + n, lc.sliding_window + n - 1) : shape.context + n;
    const double row = static_cast<double>(plan.attention[l].kv_heads.size()) * (c.head_dim + c.v_head_dim) * 2.0;
    b.kv += static_cast<double>(shape.seqs) * visible * row;
  }
  return b;
}

double roofline_us(double bytes, double copy_gbs, double comm_us) { return bytes / (copy_gbs * 1e3) + comm_us; }

}  // namespace tachyon
