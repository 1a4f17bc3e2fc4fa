// A rank's shard of the target weights described rather than stored: every tensor's format, shape and
// the spread its random values get. Benchmarks build random weights from these on the GPU (no file, no
// host copy of tens of GB), and the roofline counts the bytes of the step from the same description.
// The shapes are those load_target_weights_to (runtime/target_weights_load.h) gives the same rank; the
// spreads are those of write_random_checkpoint (model/random_model.cpp), so activations stay of order one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "model/config.h"
#include "model/weight.h"
#include "runtime/shard_plan.h"
#include "runtime/target_weights.h"

namespace tachyon {

struct WeightSpec {
  WeightFormat format = WeightFormat::F32;
  std::vector<int64_t> shape;  // empty: the model has no such tensor
  float mean = 0.0f, stddev = 0.0f;

  bool empty() const { return shape.empty(); }
  size_t elements() const;
  size_t bytes() const;  // data + scales in the stored format (an unsliced tensor of this shape)
};

using TargetWeightSpecs = TargetWeightsT<WeightSpec>;

// `dense`: attention, dense MLPs and the LM head; embeddings and the router use BF16 (F32 when dense is
// F32), as `tachyon convert` stores them; `experts`: the MoE experts.
TargetWeightSpecs target_weight_specs(const ModelConfig& config, const ShardPlan& plan, WeightFormat dense,
                                      WeightFormat experts);

// Applies f to every tensor of `in` (the same fields as LayerWeightsT holds, in a fixed order).
template <typename B, typename A, typename F>
TargetWeightsT<B> map_weights(const TargetWeightsT<A>& in, F&& f) {
  TargetWeightsT<B> out;
  out.embed = f(in.embed);
  out.lm_head = f(in.lm_head);
  out.final_norm = f(in.final_norm);
  for (const LayerWeightsT<A>& l : in.layers) {
    LayerWeightsT<B> o;
    o.attn_norm = f(l.attn_norm);
    o.mlp_norm = f(l.mlp_norm);
    const auto& a = l.attn;
    o.attn = {f(a.q), f(a.k), f(a.v), f(a.o), f(a.q_bias), f(a.k_bias), f(a.v_bias), f(a.o_bias),
              f(a.q_norm), f(a.k_norm), f(a.sinks)};
    o.mlp = {f(l.mlp.gate), f(l.mlp.up), f(l.mlp.down)};
    const auto& m = l.moe;
    o.moe = {f(m.router), f(m.router_bias), f(m.correction_bias), f(m.gate), f(m.up), f(m.down),
             f(m.gate_bias), f(m.up_bias), f(m.down_bias)};
    out.layers.push_back(std::move(o));
  }
  return out;
}

}  // namespace tachyon
