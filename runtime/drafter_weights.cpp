#include "runtime/drafter_weights.h"

#include <fmt/ranges.h>

#include "model/error.h"
#include "model/tensor_names.h"

namespace tachyon {

namespace {

// Reads whole tensors after checking their shapes against what the config implies.
class Reader {
 public:
  explicit Reader(const CheckpointReader& r) : r_(r) {}

  HostWeight read(const std::string& name, const std::vector<int64_t>& shape) const {
    TACHYON_REQUIRE(r_.has(name), "{}: tensor '{}' is missing", r_.path(), name);
    const TensorInfo info = r_.info(name);
    TACHYON_REQUIRE(info.shape == shape, "{}: tensor '{}' has shape {} but the config implies {}", r_.path(), name,
                    fmt::join(info.shape, "x"), fmt::join(shape, "x"));
    return r_.read(name);
  }
  // Vectors, which the kernels take as f32.
  HostWeight read_f32(const std::string& name, const std::vector<int64_t>& shape) const {
    HostWeight w = read(name, shape);
    if (w.format == WeightFormat::F32) return w;
    const std::vector<float> values = w.to_float();
    return make_host_weight(values.data(), w.shape, WeightFormat::F32);
  }
  HostWeight read_f32_if(bool present, const std::string& name, const std::vector<int64_t>& shape) const {
    return present ? read_f32(name, shape) : HostWeight{};
  }

 private:
  const CheckpointReader& r_;
};

}  // namespace

DrafterWeights load_drafter_weights(const CheckpointReader& drafter, const DrafterConfig& d,
                                    const CheckpointReader& target, const ModelConfig& t) {
  TACHYON_REQUIRE(drafter.kind() == "drafter",
                  "{} is a '{}' checkpoint, not a DFlash drafter (make one with `tachyon convert --drafter`)",
                  drafter.path(), drafter.kind());
  TACHYON_REQUIRE(target.kind() == "target", "{} is a '{}' checkpoint, not a target model", target.path(), target.kind());
  const ModelConfig& c = d.model;
  const int64_t H = c.hidden_size, D = c.head_dim, Dv = c.v_head_dim, I = c.dense_intermediate_size, K = d.num_taps();
  const int64_t V = t.vocab_size;
  TACHYON_CHECK(H == t.hidden_size && K > 0, "drafter config not validated against the target");

  DrafterWeights w;
  const Reader dr(drafter), tr(target);
  w.fc = dr.read(names::kFc, {H, K * H});
  w.hidden_norm = dr.read_f32(names::kHiddenNorm, {H});
  w.final_norm = dr.read_f32(names::kFinalNorm, {H});
  for (int l = 0; l < c.num_layers; ++l) {
    const LayerConfig& lc = c.layers[l];
    const int64_t q = lc.num_q_heads * D, k = lc.num_kv_heads * D, v = lc.num_kv_heads * Dv, o_in = lc.num_q_heads * Dv;
    auto n = [l](const char* what) { return names::layer(l, what); };
    DrafterLayerWeights lw;
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

  w.embed = tr.read(names::kEmbed, {V, H});
  if (!t.tie_word_embeddings) w.lm_head = tr.read(names::kLmHead, {V, H});
  if (drafter.has(names::kMaskEmbedding)) {
    w.mask_embedding = dr.read_f32(names::kMaskEmbedding, {H}).to_float();
  } else {
    w.mask_embedding.resize(H);
    w.embed.matrix().dequantize_row(static_cast<size_t>(d.mask_token_id), w.mask_embedding.data());
  }
  return w;
}

}  // namespace tachyon
