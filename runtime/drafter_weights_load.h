// The body of load_drafter_weights_to (runtime/drafter_weights.h), included by the translation units that
// instantiate it: drafter_weights.cpp for host weights, runtime/cuda/cuda_drafter.cpp for device weights.
#pragma once

#include <fmt/ranges.h>

#include "model/error.h"
#include "model/tensor_names.h"
#include "runtime/drafter_weights.h"

namespace tachyon {

namespace detail {

// Reads whole tensors after checking their shapes against what the config implies, then places them.
template <typename W>
class DrafterReader {
 public:
  DrafterReader(const CheckpointReader& r, const PlaceWeight<W>& place) : r_(r), place_(place) {}

  HostWeight read_host(const std::string& name, const std::vector<int64_t>& shape) const {
    TACHYON_REQUIRE(r_.has(name), "{}: tensor '{}' is missing", r_.path(), name);
    const TensorInfo info = r_.info(name);
    TACHYON_REQUIRE(info.shape == shape, "{}: tensor '{}' has shape {} but the config implies {}", r_.path(), name,
                    fmt::join(info.shape, "x"), fmt::join(shape, "x"));
    return r_.read(name);
  }
  W read(const std::string& name, const std::vector<int64_t>& shape) const { return place_(read_host(name, shape)); }
  // Vectors, which the kernels take as f32.
  W read_f32(const std::string& name, const std::vector<int64_t>& shape) const {
    HostWeight w = read_host(name, shape);
    if (w.format == WeightFormat::F32) return place_(std::move(w));
    const std::vector<float> values = w.to_float();
    return place_(make_host_weight(values.data(), w.shape, WeightFormat::F32));
  }
  W read_f32_if(bool present, const std::string& name, const std::vector<int64_t>& shape) const {
    return present ? read_f32(name, shape) : W{};
  }

 private:
  const CheckpointReader& r_;
  const PlaceWeight<W>& place_;
};

}  // namespace detail

template <typename W>
DrafterWeightsT<W> load_drafter_weights_to(const CheckpointReader& drafter, const DrafterConfig& d,
                                           const CheckpointReader& target, const ModelConfig& t,
                                           const PlaceWeight<W>& place) {
  TACHYON_REQUIRE(drafter.kind() == "drafter",
                  "{} is a '{}' checkpoint, not a DFlash drafter (make one with `tachyon convert --drafter`)",
                  drafter.path(), drafter.kind());
  TACHYON_REQUIRE(target.kind() == "target", "{} is a '{}' checkpoint, not a target model", target.path(), target.kind());
  const ModelConfig& c = d.model;
  const int64_t H = c.hidden_size, D = c.head_dim, Dv = c.v_head_dim, I = c.dense_intermediate_size, K = d.num_taps();
  const int64_t V = t.vocab_size;
  TACHYON_CHECK(H == t.hidden_size && K > 0, "drafter config not validated against the target");

  DrafterWeightsT<W> w;
  const detail::DrafterReader<W> dr(drafter, place), tr(target, place);
  w.fc = dr.read(names::kFc, {H, K * H});
  w.hidden_norm = dr.read_f32(names::kHiddenNorm, {H});
  w.final_norm = dr.read_f32(names::kFinalNorm, {H});
  for (int l = 0; l < c.num_layers; ++l) {
    const LayerConfig& lc = c.layers[l];
    const int64_t q = lc.num_q_heads * D, k = lc.num_kv_heads * D, v = lc.num_kv_heads * Dv, o_in = lc.num_q_heads * Dv;
    auto n = [l](const char* what) { return names::layer(l, what); };
    DrafterLayerWeightsT<W> lw;
    lw.attn_norm = dr.read_f32(n("attn_norm"), {H});
    lw.mlp_norm = dr.read_f32(n("mlp_norm"), {H});
    lw.attn.q = dr.read(n("attn.q"), {q, H});
    lw.attn.k = dr.read(n("attn.k"), {k, H});
    lw.attn.v = dr.read(n("attn.v"), {v, H});
    lw.attn.o = dr.read(n("attn.o"), {H, o_in});
    lw.attn.q_norm = dr.read_f32(n("attn.q_norm"), {D});
    lw.attn.k_norm = dr.read_f32(n("attn.k_norm"), {D});
    lw.attn.q_bias = dr.read_f32_if(c.attention_bias, n("attn.q_bias"), {q});
    lw.attn.k_bias = dr.read_f32_if(c.attention_bias, n("attn.k_bias"), {k});
    lw.attn.v_bias = dr.read_f32_if(c.attention_bias, n("attn.v_bias"), {v});
    lw.attn.o_bias = dr.read_f32_if(c.attention_bias, n("attn.o_bias"), {H});
    lw.attn.sinks = dr.read_f32_if(lc.sinks, n("attn.sinks"), {lc.num_q_heads});
    lw.mlp.gate = dr.read(n("mlp.gate"), {I, H});
    lw.mlp.up = dr.read(n("mlp.up"), {I, H});
    lw.mlp.down = dr.read(n("mlp.down"), {H, I});
    w.layers.push_back(std::move(lw));
  }

  HostWeight embed = tr.read_host(names::kEmbed, {V, H});
  if (drafter.has(names::kMaskEmbedding)) {
    w.mask_embedding = dr.read_f32(names::kMaskEmbedding, {H});
  } else {
    std::vector<float> row(H);
    embed.matrix().dequantize_row(static_cast<size_t>(d.mask_token_id), row.data());
    w.mask_embedding = place(make_host_weight(row.data(), {H}, WeightFormat::F32));
  }
  w.embed = place(std::move(embed));
  if (!t.tie_word_embeddings) w.lm_head = tr.read(names::kLmHead, {V, H});
  return w;
}

}  // namespace tachyon
