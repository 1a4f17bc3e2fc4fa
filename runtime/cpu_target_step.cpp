#include "runtime/cpu_target_step.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/embedding.h"
#include "kernels/cpu/gated_mlp.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/rmsnorm.h"
#include "kernels/cpu/rope.h"
#include "kernels/cpu/router.h"
#include "model/error.h"

namespace tachyon {

using comm::DType;
using comm::ReduceOp;

struct CpuTargetStep::Rows {
  std::vector<int32_t> positions;  // per token
  std::vector<size_t> first_row;   // per sequence: its first token's row
};

CpuTargetStep::CpuTargetStep(const ModelConfig& config, ShardPlan plan, TargetWeights weights, comm::Collectives& comm,
                             int num_slots, int capacity, std::vector<int> tap_layers)
    : config_(config),
      plan_(std::move(plan)),
      weights_(std::move(weights)),
      comm_(comm),
      cache_(config, plan_, num_slots, capacity),
      tap_layers_(std::move(tap_layers)) {
  for (const auto& l : config_.layers) inv_freq_.push_back(l.rope.inverse_frequencies());
  for (int t : tap_layers_)
    TACHYON_REQUIRE(t >= 0 && t < config_.num_layers, "tapped layer {} is outside the model's {} layers", t, config_.num_layers);
}

namespace {
cpu::SwigluParams swiglu_params(const ModelConfig& c) { return {c.swiglu, c.swiglu_limit, c.swiglu_alpha}; }

cpu::RouterParams router_params(const ModelConfig& c, const MoeWeights& w) {
  return {c.router, c.num_experts, c.top_k, c.norm_topk_prob, c.routed_scaling_factor, f32_data(w.correction_bias)};
}

}  // namespace

void CpuTargetStep::run(const StepBatch& batch, StepOutput& out) {
  const size_t M = batch.tokens.size(), H = config_.hidden_size;
  Rows rows;
  for (const auto& s : batch.seqs) {
    TACHYON_CHECK(s.start >= 0 && s.count > 0 && s.start + s.count <= cache_.capacity(),
                  "chunk [{}, {}) outside the KV capacity {}", s.start, s.start + s.count, cache_.capacity());
    rows.first_row.push_back(rows.positions.size());
    for (int i = 0; i < s.count; ++i) rows.positions.push_back(s.start + i);
  }
  TACHYON_CHECK(rows.positions.size() == M, "{} tokens for chunks of {}", M, rows.positions.size());
  if (route_margins_) route_margins_->assign(M, INFINITY);

  std::vector<float> x(M * H), partial(M * H), h(M * H);
  cpu::embed(batch.tokens.data(), M, weights_.embed.matrix(), plan_.vocab.begin, x.data());
  comm_.all_reduce(x.data(), x.size(), DType::F32, ReduceOp::Sum);

  // Taps only where the caller reads them on the host (StepOutput::want_host_taps), as the GPU step: ranks other than 0
  // and runs without a drafter do not.
  const size_t n_taps = out.want_host_taps ? tap_layers_.size() : 0;
  out.taps.assign(n_taps ? M * n_taps * H : 0, 0.0f);

  for (int l = 0; l < config_.num_layers; ++l) {
    const LayerWeights& w = weights_.layers[l];
    attention(l, batch, rows, x.data(), partial.data());
    if (plan_.rank == 0 && !w.attn.o_bias.empty()) cpu::add_bias(partial.data(), M, H, f32_data(w.attn.o_bias));

    if (config_.layers[l].moe && plan_.moe == MoeParallel::Ep) {
      // Keep a slice of the tokens, send them to their experts, gather the slices back.
      const std::vector<size_t> counts = token_split_counts(M, plan_.world, H);
      const Range mine = split_range(M, plan_.world, plan_.rank);
      std::vector<float> xl(mine.size() * H), hl(mine.size() * H), moe_out(mine.size() * H);
      comm_.reduce_scatter(partial.data(), counts, DType::F32, ReduceOp::Sum, xl.data());
      for (size_t i = 0; i < xl.size(); ++i) xl[i] += x[mine.begin * H + i];
      cpu::rmsnorm(xl.data(), f32_data(w.mlp_norm), mine.size(), H, config_.rms_norm_eps, hl.data());
      moe_ep(l, hl.data(), mine.size(), moe_out.data());
      for (size_t i = 0; i < xl.size(); ++i) xl[i] += moe_out[i];
      comm_.all_gather_v(xl.data(), counts, DType::F32, x.data());
    } else {
      comm_.all_reduce(partial.data(), partial.size(), DType::F32, ReduceOp::Sum);
      for (size_t i = 0; i < x.size(); ++i) x[i] += partial[i];
      cpu::rmsnorm(x.data(), f32_data(w.mlp_norm), M, H, config_.rms_norm_eps, h.data());
      if (config_.layers[l].moe) moe_tp(l, h.data(), M, partial.data());
      else dense_mlp(l, h.data(), M, partial.data());
      comm_.all_reduce(partial.data(), partial.size(), DType::F32, ReduceOp::Sum);
      for (size_t i = 0; i < x.size(); ++i) x[i] += partial[i];
    }
    for (size_t t = 0; t < n_taps; ++t)
      if (tap_layers_[t] == l)
        for (size_t r = 0; r < M; ++r) std::memcpy(&out.taps[(r * n_taps + t) * H], &x[r * H], H * sizeof(float));
  }

  // Final norm and the LM head on the rows that want logits.
  std::vector<float> selected;
  for (size_t s = 0; s < batch.seqs.size(); ++s)
    for (int i = batch.seqs[s].logits_from; i < batch.seqs[s].count; ++i) {
      const float* row = &x[(rows.first_row[s] + i) * H];
      selected.insert(selected.end(), row, row + H);
    }
  const size_t n_out = selected.size() / H;
  cpu::rmsnorm(selected.data(), f32_data(weights_.final_norm), n_out, H, config_.rms_norm_eps, selected.data());
  const MatrixView head = weights_.head().matrix();
  out.logits.resize(n_out * head.rows);
  cpu::matmul(selected.data(), n_out, head, out.logits.data());
}

void CpuTargetStep::attention(int l, const StepBatch& batch, const Rows& rows, const float* x, float* partial) {
  const ModelConfig& c = config_;
  const LayerConfig& lc = c.layers[l];
  const AttentionWeights& w = weights_.layers[l].attn;
  const AttentionShard& a = plan_.attention[l];
  const size_t M = batch.tokens.size(), H = c.hidden_size, D = c.head_dim, Dv = c.v_head_dim;
  const size_t hq = a.q_heads.size(), hkv = a.kv_heads.size();
  if (hq == 0) {  // more ranks than query heads: this rank adds nothing
    std::fill(partial, partial + M * H, 0.0f);
    return;
  }
  std::vector<float> h(M * H), q(M * hq * D), k(M * hkv * D), v(M * hkv * Dv), attn(M * hq * Dv);
  cpu::rmsnorm(x, f32_data(weights_.layers[l].attn_norm), M, H, c.rms_norm_eps, h.data());
  cpu::matmul(h.data(), M, w.q.matrix(), q.data());
  cpu::matmul(h.data(), M, w.k.matrix(), k.data());
  cpu::matmul(h.data(), M, w.v.matrix(), v.data());
  if (!w.q_bias.empty()) {
    cpu::add_bias(q.data(), M, hq * D, f32_data(w.q_bias));
    cpu::add_bias(k.data(), M, hkv * D, f32_data(w.k_bias));
    cpu::add_bias(v.data(), M, hkv * Dv, f32_data(w.v_bias));
  }
  if (c.qk_norm) {
    cpu::rmsnorm(q.data(), f32_data(w.q_norm), M * hq, D, c.rms_norm_eps, q.data());
    cpu::rmsnorm(k.data(), f32_data(w.k_norm), M * hkv, D, c.rms_norm_eps, k.data());
  }
  const float af = static_cast<float>(lc.rope.attention_factor);
  cpu::apply_rope(q.data(), M, static_cast<int>(hq), static_cast<int>(D), lc.rope.rotary_dim, rows.positions.data(),
                  inv_freq_[l].data(), af);
  cpu::apply_rope(k.data(), M, static_cast<int>(hkv), static_cast<int>(D), lc.rope.rotary_dim, rows.positions.data(),
                  inv_freq_[l].data(), af);
  if (c.value_scale != 1.0f)
    for (float& e : v) e *= c.value_scale;

  const cpu::AttentionShape shape{static_cast<int>(hq), static_cast<int>(hkv), static_cast<int>(D), static_cast<int>(Dv)};
  const cpu::AttentionMask mask{/*causal=*/true, lc.sliding ? lc.sliding_window : 0};
  for (size_t s = 0; s < batch.seqs.size(); ++s) {
    const SequenceChunk& chunk = batch.seqs[s];
    const size_t r0 = rows.first_row[s];
    float* keys = cache_.keys(l, chunk.slot);
    float* values = cache_.values(l, chunk.slot);
    for (int i = 0; i < chunk.count; ++i) {
      const size_t pos = static_cast<size_t>(chunk.start + i);
      std::memcpy(keys + pos * hkv * D, &k[(r0 + i) * hkv * D], hkv * D * sizeof(float));
      std::memcpy(values + pos * hkv * Dv, &v[(r0 + i) * hkv * Dv], hkv * Dv * sizeof(float));
    }
    cpu::attention(&q[r0 * hq * D], chunk.count, &rows.positions[r0], keys, values, chunk.start + chunk.count,
                   a.kv_head_of.data(), shape, c.attention_scale, mask, f32_data(w.sinks), &attn[r0 * hq * Dv]);
  }
  cpu::matmul(attn.data(), M, w.o.matrix(), partial);
}

void CpuTargetStep::dense_mlp(int l, const float* h, size_t m, float* partial) {
  const DenseMlpWeights& w = weights_.layers[l].mlp;
  cpu::gated_mlp(h, m, {w.gate.matrix(), w.up.matrix(), w.down.matrix()}, swiglu_params(config_), partial);
}

void CpuTargetStep::expert_outputs(const MoeWeights& w, int local_expert, const float* x, size_t m, float* out) {
  const size_t slice = w.gate.rows();
  cpu::GatedMlpWeights e{w.gate.matrix(local_expert), w.up.matrix(local_expert), w.down.matrix(local_expert)};
  if (!w.gate_bias.empty()) {
    e.gate_bias = f32_data(w.gate_bias) + local_expert * slice;
    e.up_bias = f32_data(w.up_bias) + local_expert * slice;
  }
  cpu::gated_mlp(x, m, e, swiglu_params(config_), out);
}

void CpuTargetStep::record_route_margins(const float* router_logits, size_t m, const cpu::RouterParams& params) {
  if (!route_margins_) return;
  for (size_t t = 0; t < m; ++t) {
    float& worst = (*route_margins_)[t];
    worst = std::min(worst, cpu::route_margin(router_logits + t * params.num_experts, params));
  }
}

void CpuTargetStep::moe_tp(int l, const float* h, size_t m, float* partial) {
  const MoeWeights& w = weights_.layers[l].moe;
  const size_t H = config_.hidden_size, K = config_.top_k, E = config_.num_experts;
  std::vector<float> logits(m * E), weights(m * K), y(m * K * H);
  std::vector<int32_t> ids(m * K);
  cpu::matmul(h, m, w.router.matrix(), logits.data());
  if (!w.router_bias.empty()) cpu::add_bias(logits.data(), m, E, f32_data(w.router_bias));
  cpu::route(logits.data(), m, router_params(config_, w), ids.data(), weights.data());
  record_route_margins(logits.data(), m, router_params(config_, w));
  // Every expert's slice over the tokens that chose it; results land at y[token][slot].
  for (size_t e = 0; e < E; ++e) {
    std::vector<size_t> hits;
    for (size_t i = 0; i < m * K; ++i)
      if (static_cast<size_t>(ids[i]) == e) hits.push_back(i);
    if (hits.empty()) continue;
    std::vector<float> xe(hits.size() * H), ye(hits.size() * H);
    for (size_t j = 0; j < hits.size(); ++j) std::memcpy(&xe[j * H], h + (hits[j] / K) * H, H * sizeof(float));
    expert_outputs(w, static_cast<int>(e), xe.data(), hits.size(), ye.data());
    for (size_t j = 0; j < hits.size(); ++j) std::memcpy(&y[hits[j] * H], &ye[j * H], H * sizeof(float));
  }
  const float* down_bias = f32_data(w.down_bias);
  for (size_t t = 0; t < m; ++t)
    for (size_t d = 0; d < H; ++d) {
      float acc = 0.0f;
      for (size_t j = 0; j < K; ++j) {
        float v = y[(t * K + j) * H + d];
        // The down bias is whole on every rank; rank 0 adds it so that the all-reduce counts it once.
        if (down_bias && plan_.rank == 0) v += down_bias[ids[t * K + j] * H + d];
        acc += weights[t * K + j] * v;
      }
      partial[t * H + d] = acc;
    }
}

void CpuTargetStep::moe_ep(int l, const float* h, size_t m, float* out) {
  const MoeWeights& w = weights_.layers[l].moe;
  const size_t H = config_.hidden_size, K = config_.top_k, E = config_.num_experts;
  const int world = plan_.world;
  std::vector<float> logits(m * E), weights(m * K);
  std::vector<int32_t> ids(m * K);
  cpu::matmul(h, m, w.router.matrix(), logits.data());
  if (!w.router_bias.empty()) cpu::add_bias(logits.data(), m, E, f32_data(w.router_bias));
  cpu::route(logits.data(), m, router_params(config_, w), ids.data(), weights.data());
  record_route_margins(logits.data(), m, router_params(config_, w));

  // Dispatch: (token, slot) pairs grouped by the rank that owns their expert.
  std::vector<std::vector<size_t>> to_rank(world);
  for (size_t i = 0; i < m * K; ++i) to_rank[plan_.owner_of_expert(ids[i])].push_back(i);
  std::vector<size_t> send_rows(world), recv_rows(world), ones(world, 1);
  std::vector<int64_t> send_n(world), recv_n(world);
  std::vector<int32_t> send_ids;
  std::vector<float> send_x;
  std::vector<size_t> order;  // pair index of each sent row, in send order
  for (int r = 0; r < world; ++r) {
    send_rows[r] = to_rank[r].size();
    send_n[r] = static_cast<int64_t>(send_rows[r]);
    for (size_t i : to_rank[r]) {
      order.push_back(i);
      send_ids.push_back(ids[i]);
      send_x.insert(send_x.end(), h + (i / K) * H, h + (i / K + 1) * H);
    }
  }
  comm_.all_to_all_v(send_n.data(), ones, recv_n.data(), ones, DType::I64);
  size_t n_recv = 0;
  for (int r = 0; r < world; ++r) n_recv += recv_rows[r] = static_cast<size_t>(recv_n[r]);
  auto times_h = [H](std::vector<size_t> v) { for (auto& x : v) x *= H; return v; };
  std::vector<int32_t> recv_ids(n_recv);
  std::vector<float> recv_x(n_recv * H), results(n_recv * H), back(order.size() * H);
  comm_.all_to_all_v(send_ids.data(), send_rows, recv_ids.data(), recv_rows, DType::I32);
  comm_.all_to_all_v(send_x.data(), times_h(send_rows), recv_x.data(), times_h(recv_rows), DType::F32);

  // The experts this rank owns, each over the rows sent to it (bias included: the owner computes the
  // whole expert).
  const float* down_bias = f32_data(w.down_bias);
  for (int64_t e = plan_.experts.begin; e < plan_.experts.end; ++e) {
    std::vector<size_t> hits;
    for (size_t i = 0; i < n_recv; ++i)
      if (recv_ids[i] == e) hits.push_back(i);
    if (hits.empty()) continue;
    const int local = static_cast<int>(e - plan_.experts.begin);
    std::vector<float> xe(hits.size() * H), ye(hits.size() * H);
    for (size_t j = 0; j < hits.size(); ++j) std::memcpy(&xe[j * H], &recv_x[hits[j] * H], H * sizeof(float));
    expert_outputs(w, local, xe.data(), hits.size(), ye.data());
    for (size_t j = 0; j < hits.size(); ++j)
      for (size_t d = 0; d < H; ++d) results[hits[j] * H + d] = ye[j * H + d] + (down_bias ? down_bias[local * H + d] : 0.0f);
  }
  for (size_t i = 0; i < n_recv; ++i)
    TACHYON_CHECK(plan_.experts.contains(recv_ids[i]), "received a token for expert {} not owned here", recv_ids[i]);

  // Combine: results travel back in the order they came; weight and sum each token's slots in order.
  comm_.all_to_all_v(results.data(), times_h(recv_rows), back.data(), times_h(send_rows), DType::F32);
  std::vector<float> y(m * K * H);
  for (size_t j = 0; j < order.size(); ++j) std::memcpy(&y[order[j] * H], &back[j * H], H * sizeof(float));
  for (size_t t = 0; t < m; ++t)
    for (size_t d = 0; d < H; ++d) {
      float acc = 0.0f;
      for (size_t j = 0; j < K; ++j) acc += weights[t * K + j] * y[(t * K + j) * H + d];
      out[t * H + d] = acc;
    }
}

}  // namespace tachyon
