// The body of load_target_weights_to (runtime/target_weights.h), included by the translation units that
// instantiate it: target_weights.cpp for host weights, runtime/cuda for device weights.
#pragma once

#include <fmt/ranges.h>

#include "model/error.h"
#include "runtime/target_weights.h"

namespace tachyon {

namespace detail {

// Reads tensors for one rank, checking each one's full shape against what the config implies, and places
// each one (on the host, or on a device) as soon as it is read.
template <typename W>
class ShardReader {
 public:
  ShardReader(const CheckpointReader& reader, const PlaceWeight<W>& place, const LoadProgress& progress, size_t total)
      : reader_(reader), place_(place), progress_(progress), total_(total) {}

  // Read into staging_, whose buffers a placement that copies the tensor elsewhere (a device upload) leaves for
  // the next read, and one that keeps it (the host's) moves out.
  W read(const std::string& name, const std::vector<int64_t>& shape, const TensorSlice& slice = {}) {
    read_host_into(name, shape, slice, staging_);
    return place_(std::move(staging_));
  }
  W read_f32(const std::string& name, const std::vector<int64_t>& shape, const TensorSlice& slice = {}) {
    return place_(read_host_f32(name, shape, slice));
  }
  W read_if(bool present, const std::string& name, const std::vector<int64_t>& shape, const TensorSlice& slice = {}) {
    if (!present) return W{};
    return read_f32(name, shape, slice);
  }

  HostWeight read_host(const std::string& name, const std::vector<int64_t>& expected_shape, const TensorSlice& slice = {}) {
    HostWeight w;
    read_host_into(name, expected_shape, slice, w);
    return w;
  }
  void read_host_into(const std::string& name, const std::vector<int64_t>& expected_shape, const TensorSlice& slice,
                      HostWeight& w) {
    const TensorInfo info = reader_.info(name);
    TACHYON_REQUIRE(info.shape == expected_shape, "{}: tensor '{}' has shape {} but the config implies {}",
                    reader_.path(), name, fmt::join(info.shape, "x"), fmt::join(expected_shape, "x"));
    if (is_empty(slice)) w = empty_slice(info, slice);
    else reader_.read_into(name, slice, w);
    tick();
  }

  // Vectors and small tensors the kernels use as FP32.
  HostWeight read_host_f32(const std::string& name, const std::vector<int64_t>& expected_shape, const TensorSlice& slice = {}) {
    HostWeight w = read_host(name, expected_shape, slice);
    if (w.format == WeightFormat::F32) return w;
    std::vector<float> values = w.to_float();
    return make_host_weight(values.data(), w.shape, WeightFormat::F32);
  }

 private:
  static bool is_empty(const TensorSlice& s) {
    return (s.expert_end >= 0 && s.expert_end <= s.expert_begin) || (s.row_end >= 0 && s.row_end <= s.row_begin) ||
           (s.col_end >= 0 && s.col_end <= s.col_begin);
  }
  // A rank with no part of a tensor (more ranks than heads, say) holds a zero-sized tensor.
  static HostWeight empty_slice(const TensorInfo& info, const TensorSlice& s) {
    HostWeight w;
    w.format = info.format;
    w.shape = info.shape;
    auto clip = [](int64_t begin, int64_t end, int64_t full) { return std::max<int64_t>(0, (end < 0 ? full : end) - begin); };
    const size_t n = w.shape.size();
    if (n == 3) w.shape[0] = clip(s.expert_begin, s.expert_end, info.shape[0]);
    if (n >= 2) w.shape[n - 2] = clip(s.row_begin, s.row_end, info.shape[n - 2]);
    w.shape[n - 1] = clip(s.col_begin, s.col_end, info.shape[n - 1]);
    return w;
  }
  void tick() {
    ++done_;
    if (progress_) progress_(done_, total_, reader_.bytes_read());
  }

  const CheckpointReader& reader_;
  const PlaceWeight<W>& place_;
  const LoadProgress& progress_;
  HostWeight staging_;
  size_t total_;
  size_t done_ = 0;
};

}  // namespace detail

template <typename W>
TargetWeightsT<W> load_target_weights_to(const CheckpointReader& reader, const ModelConfig& c, const ShardPlan& p,
                                         const PlaceWeight<W>& place, const LoadProgress& progress) {
  const int64_t H = c.hidden_size, V = c.vocab_size, D = c.head_dim, Dv = c.v_head_dim;
  const int64_t E = c.num_experts, Im = c.moe_intermediate_size, Id = c.dense_intermediate_size;
  detail::ShardReader<W> r(reader, place, progress, reader.tensors().size());
  TargetWeightsT<W> w;
  w.embed = r.read("embed", {V, H}, {.row_begin = p.vocab.begin, .row_end = p.vocab.end});
  if (!c.tie_word_embeddings) w.lm_head = r.read("lm_head", {V, H}, {.row_begin = p.vocab.begin, .row_end = p.vocab.end});
  w.final_norm = r.read_f32("final_norm", {H});
  for (int l = 0; l < c.num_layers; ++l) {
    const LayerConfig& lc = c.layers[l];
    const AttentionShard& a = p.attention[l];
    const std::string pre = fmt::format("layers.{}.", l);
    const int64_t Hq = lc.num_q_heads, Hkv = lc.num_kv_heads;
    LayerWeightsT<W> lw;
    lw.attn_norm = r.read_f32(pre + "attn_norm", {H});
    lw.mlp_norm = r.read_f32(pre + "mlp_norm", {H});
    const TensorSlice q_rows{.row_begin = a.q_heads.begin * D, .row_end = a.q_heads.end * D};
    const TensorSlice k_rows{.row_begin = a.kv_heads.begin * D, .row_end = a.kv_heads.end * D};
    const TensorSlice v_rows{.row_begin = a.kv_heads.begin * Dv, .row_end = a.kv_heads.end * Dv};
    lw.attn.q = r.read(pre + "attn.q", {Hq * D, H}, q_rows);
    lw.attn.k = r.read(pre + "attn.k", {Hkv * D, H}, k_rows);
    lw.attn.v = r.read(pre + "attn.v", {Hkv * Dv, H}, v_rows);
    lw.attn.o = r.read(pre + "attn.o", {H, Hq * Dv}, {.col_begin = a.q_heads.begin * Dv, .col_end = a.q_heads.end * Dv});
    const bool bias = c.attention_bias;
    lw.attn.q_bias = r.read_if(bias, pre + "attn.q_bias", {Hq * D}, {.col_begin = q_rows.row_begin, .col_end = q_rows.row_end});
    lw.attn.k_bias = r.read_if(bias, pre + "attn.k_bias", {Hkv * D}, {.col_begin = k_rows.row_begin, .col_end = k_rows.row_end});
    lw.attn.v_bias = r.read_if(bias, pre + "attn.v_bias", {Hkv * Dv}, {.col_begin = v_rows.row_begin, .col_end = v_rows.row_end});
    lw.attn.o_bias = r.read_if(bias, pre + "attn.o_bias", {H});
    lw.attn.q_norm = r.read_if(c.qk_norm, pre + "attn.q_norm", {D});
    lw.attn.k_norm = r.read_if(c.qk_norm, pre + "attn.k_norm", {D});
    lw.attn.sinks = r.read_if(lc.sinks, pre + "attn.sinks", {Hq}, {.col_begin = a.q_heads.begin, .col_end = a.q_heads.end});
    if (!lc.moe) {
      const Range& i = p.dense_intermediate;
      lw.mlp.gate = r.read(pre + "mlp.gate", {Id, H}, {.row_begin = i.begin, .row_end = i.end});
      lw.mlp.up = r.read(pre + "mlp.up", {Id, H}, {.row_begin = i.begin, .row_end = i.end});
      lw.mlp.down = r.read(pre + "mlp.down", {H, Id}, {.col_begin = i.begin, .col_end = i.end});
    } else {
      const Range& e = p.experts;
      const Range& i = p.expert_intermediate;
      MoeWeightsT<W>& m = lw.moe;
      m.router = r.read(pre + "moe.router", {E, H});
      m.router_bias = r.read_if(c.router_bias, pre + "moe.router_bias", {E});
      m.correction_bias = r.read_if(c.router_correction_bias, pre + "moe.correction_bias", {E});
      const TensorSlice rows{.expert_begin = e.begin, .expert_end = e.end, .row_begin = i.begin, .row_end = i.end};
      m.gate = r.read(pre + "moe.gate", {E, Im, H}, rows);
      m.up = r.read(pre + "moe.up", {E, Im, H}, rows);
      m.down = r.read(pre + "moe.down", {E, H, Im},
                      {.expert_begin = e.begin, .expert_end = e.end, .col_begin = i.begin, .col_end = i.end});
      const TensorSlice bias_cols{.row_begin = e.begin, .row_end = e.end, .col_begin = i.begin, .col_end = i.end};
      m.gate_bias = r.read_if(c.expert_bias, pre + "moe.gate_bias", {E, Im}, bias_cols);
      m.up_bias = r.read_if(c.expert_bias, pre + "moe.up_bias", {E, Im}, bias_cols);
      m.down_bias = r.read_if(c.expert_bias, pre + "moe.down_bias", {E, H}, {.row_begin = e.begin, .row_end = e.end});
    }
    w.layers.push_back(std::move(lw));
  }
  return w;
}


}  // namespace tachyon
