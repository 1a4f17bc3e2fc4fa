#include "runtime/cpu_drafter.h"

#include <algorithm>
#include <cstring>

#include "kernels/cpu/argmax.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/embedding.h"
#include "kernels/cpu/gated_mlp.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/rmsnorm.h"
#include "kernels/cpu/rope.h"
#include "model/error.h"

namespace tachyon {

CpuDrafter::CpuDrafter(DrafterConfig config, DrafterWeights weights, int num_slots, int capacity)
    : config_(std::move(config)),
      weights_(std::move(weights)),
      plan_(make_shard_plan(config_.model, 0, 1, MoeParallel::Tp)),
      cache_(config_.model, plan_, num_slots, capacity),
      slots_(num_slots, capacity) {
  TACHYON_CHECK(config_.num_taps() > 0, "drafter config not validated against the target (no target_layer_ids)");
  TACHYON_CHECK(static_cast<int>(weights_.layers.size()) == config_.num_layers(), "{} layer weights for {} layers",
                weights_.layers.size(), config_.num_layers());
  for (const auto& l : config_.model.layers) inv_freq_.push_back(l.rope.inverse_frequencies());
}

CpuDrafter CpuDrafter::load(const CheckpointReader& drafter, const CheckpointReader& target, int num_slots, int capacity) {
  DrafterConfigs c = read_drafter_configs(drafter, target);
  DrafterWeights weights = load_drafter_weights(drafter, c.drafter, target, c.target);
  return CpuDrafter(std::move(c.drafter), std::move(weights), num_slots, capacity);
}

void CpuDrafter::add_context(int slot, int start_position, int n, const float* taps) {
  add_context({DraftContext{slot, start_position, n, taps}});
}

void CpuDrafter::add_context(const std::vector<DraftContext>& chunks) {
  const ModelConfig& c = config_.model;
  const size_t H = c.hidden_size, K = config_.num_taps(), D = c.head_dim, Dv = c.v_head_dim;
  const DraftSlots::ContextRows rows_in = slots_.check_context(chunks);
  const std::vector<int32_t>& positions = rows_in.positions;
  const size_t M = positions.size();
  if (M == 0) return;

  // ctx = hidden_norm(fc(concat of the K taps)): one context feature per position, shared by every layer.
  std::vector<float> taps(M * K * H), ctx(M * H);
  size_t row = 0;
  for (const DraftContext& ch : chunks) {
    std::memcpy(&taps[row * K * H], ch.taps, static_cast<size_t>(ch.count) * K * H * sizeof(float));
    row += ch.count;
  }
  cpu::matmul(taps.data(), M, weights_.fc.matrix(), ctx.data());
  cpu::rmsnorm(ctx.data(), f32_data(weights_.hidden_norm), M, H, c.rms_norm_eps, ctx.data());

  // Every layer's own k/v projections of the context (no input_layernorm), k_norm, RoPE at the absolute
  // positions, the value scale; then into the cache at those positions.
  for (int l = 0; l < c.num_layers; ++l) {
    const LayerConfig& lc = c.layers[l];
    const AttentionWeights& w = weights_.layers[l].attn;
    const size_t hkv = lc.num_kv_heads;
    std::vector<float> k(M * hkv * D), v(M * hkv * Dv);
    cpu::matmul(ctx.data(), M, w.k.matrix(), k.data());
    cpu::matmul(ctx.data(), M, w.v.matrix(), v.data());
    if (!w.k_bias.empty()) {
      cpu::add_bias(k.data(), M, hkv * D, f32_data(w.k_bias));
      cpu::add_bias(v.data(), M, hkv * Dv, f32_data(w.v_bias));
    }
    cpu::rmsnorm(k.data(), f32_data(w.k_norm), M * hkv, D, c.rms_norm_eps, k.data());
    cpu::apply_rope(k.data(), M, static_cast<int>(hkv), static_cast<int>(D), lc.rope.rotary_dim, positions.data(),
                    inv_freq_[l].data(), static_cast<float>(lc.rope.attention_factor));
    if (c.value_scale != 1.0f)
      for (float& e : v) e *= c.value_scale;
    row = 0;
    for (const DraftContext& ch : chunks) {
      float* keys = cache_.keys(l, ch.slot);
      float* values = cache_.values(l, ch.slot);
      for (int i = 0; i < ch.count; ++i, ++row) {
        const size_t pos = static_cast<size_t>(ch.start + i);
        std::memcpy(keys + pos * hkv * D, &k[row * hkv * D], hkv * D * sizeof(float));
        std::memcpy(values + pos * hkv * Dv, &v[row * hkv * Dv], hkv * Dv * sizeof(float));
      }
    }
  }
  slots_.commit(rows_in);
}

std::vector<Draft> CpuDrafter::draft(const std::vector<DraftRequest>& requests_in) {
  const ModelConfig& c = config_.model;
  const size_t H = c.hidden_size, V = c.vocab_size;
  const DraftSlots::BlockRows rows = slots_.check_draft(requests_in, config_.block_size, V);
  const std::vector<DraftRequest>& reqs = rows.requests;
  const std::vector<size_t>& first_row = rows.first_row;
  const std::vector<int32_t>& positions = rows.positions;
  std::vector<int32_t> ids;
  for (const DraftRequest& r : reqs) ids.push_back(r.anchor_token);
  const size_t M = positions.size();
  if (M == 0) return {};

  // The block: the anchor's embedding, then the mask embedding in every other slot.
  std::vector<float> x(M * H), h(M * H), y(M * H);
  for (size_t s = 0; s < reqs.size(); ++s) {
    float* block = &x[first_row[s] * H];
    cpu::embed(&ids[s], 1, weights_.embed.matrix(), 0, block);
    for (int i = 1; i < reqs[s].block_size; ++i)
      std::memcpy(block + i * H, f32_data(weights_.mask_embedding), H * sizeof(float));
  }

  for (int l = 0; l < c.num_layers; ++l) {
    const DrafterLayerWeights& w = weights_.layers[l];
    cpu::rmsnorm(x.data(), f32_data(w.attn_norm), M, H, c.rms_norm_eps, h.data());
    attention(l, reqs, first_row, positions, h.data(), y.data());
    for (size_t i = 0; i < x.size(); ++i) x[i] += y[i];
    cpu::rmsnorm(x.data(), f32_data(w.mlp_norm), M, H, c.rms_norm_eps, h.data());
    cpu::gated_mlp(h.data(), M, {w.mlp.gate.matrix(), w.mlp.up.matrix(), w.mlp.down.matrix()}, {}, y.data());
    for (size_t i = 0; i < x.size(); ++i) x[i] += y[i];
  }

  // Final norm and the target's LM head on block rows 1..B-1 (row 0, the anchor's, predicts nothing new).
  std::vector<Draft> out(reqs.size());
  const MatrixView head = weights_.head().matrix();
  for (size_t s = 0; s < reqs.size(); ++s) {
    const size_t n = static_cast<size_t>(reqs[s].block_size) - 1;
    std::vector<float> rows(n * H);
    cpu::rmsnorm(&x[(first_row[s] + 1) * H], f32_data(weights_.final_norm), n, H, c.rms_norm_eps, rows.data());
    out[s].logits.resize(n * V);
    out[s].tokens.resize(n);
    cpu::matmul(rows.data(), n, head, out[s].logits.data());
    cpu::row_argmax(out[s].logits.data(), n, V, out[s].tokens.data());
  }
  return out;
}

// Attention of the block rows `x` (already input-normed) of every request; out = o_proj(attention).
void CpuDrafter::attention(int l, const std::vector<DraftRequest>& reqs, const std::vector<size_t>& first_row,
                           const std::vector<int32_t>& positions, const float* x, float* out) {
  const ModelConfig& c = config_.model;
  const LayerConfig& lc = c.layers[l];
  const AttentionWeights& w = weights_.layers[l].attn;
  const size_t M = positions.size(), H = c.hidden_size, D = c.head_dim, Dv = c.v_head_dim;
  const size_t hq = lc.num_q_heads, hkv = lc.num_kv_heads;
  std::vector<float> q(M * hq * D), k(M * hkv * D), v(M * hkv * Dv), attn(M * hq * Dv);
  cpu::matmul(x, M, w.q.matrix(), q.data());
  cpu::matmul(x, M, w.k.matrix(), k.data());
  cpu::matmul(x, M, w.v.matrix(), v.data());
  if (!w.q_bias.empty()) {
    cpu::add_bias(q.data(), M, hq * D, f32_data(w.q_bias));
    cpu::add_bias(k.data(), M, hkv * D, f32_data(w.k_bias));
    cpu::add_bias(v.data(), M, hkv * Dv, f32_data(w.v_bias));
  }
  cpu::rmsnorm(q.data(), f32_data(w.q_norm), M * hq, D, c.rms_norm_eps, q.data());
  cpu::rmsnorm(k.data(), f32_data(w.k_norm), M * hkv, D, c.rms_norm_eps, k.data());
  const float af = static_cast<float>(lc.rope.attention_factor);
  cpu::apply_rope(q.data(), M, static_cast<int>(hq), static_cast<int>(D), lc.rope.rotary_dim, positions.data(),
                  inv_freq_[l].data(), af);
  cpu::apply_rope(k.data(), M, static_cast<int>(hkv), static_cast<int>(D), lc.rope.rotary_dim, positions.data(),
                  inv_freq_[l].data(), af);
  if (c.value_scale != 1.0f)
    for (float& e : v) e *= c.value_scale;

  const cpu::AttentionShape shape{static_cast<int>(hq), static_cast<int>(hkv), static_cast<int>(D), static_cast<int>(Dv)};
  const cpu::AttentionMask mask{config_.causal[l], lc.sliding ? lc.sliding_window : 0};
  for (size_t s = 0; s < reqs.size(); ++s) {
    const DraftRequest& r = reqs[s];
    const size_t r0 = first_row[s];
    // The block's k/v go right after the slot's context (scratch rows, not part of the context), so that
    // the kernel sees keys [0, p + B) with key j at position j.
    float* keys = cache_.keys(l, r.slot);
    float* values = cache_.values(l, r.slot);
    for (int i = 0; i < r.block_size; ++i) {
      const size_t pos = static_cast<size_t>(r.position + i);
      std::memcpy(keys + pos * hkv * D, &k[(r0 + i) * hkv * D], hkv * D * sizeof(float));
      std::memcpy(values + pos * hkv * Dv, &v[(r0 + i) * hkv * Dv], hkv * Dv * sizeof(float));
    }
    cpu::attention(&q[r0 * hq * D], r.block_size, &positions[r0], keys, values, r.position + r.block_size,
                   plan_.attention[l].kv_head_of.data(), shape, c.attention_scale, mask, f32_data(w.sinks),
                   &attn[r0 * hq * Dv]);
  }
  cpu::matmul(attn.data(), M, w.o.matrix(), out);
  if (!w.o_bias.empty()) cpu::add_bias(out, M, H, f32_data(w.o_bias));
}

}  // namespace tachyon
