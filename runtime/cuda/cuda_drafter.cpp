#include "runtime/cuda/cuda_drafter.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/qkv_prepare.h"
#include "model/error.h"
#include "runtime/cuda/qkv_prepare_params.h"
#include "runtime/drafter_weights_load.h"

namespace tachyon {

template DeviceDrafterWeights load_drafter_weights_to<cuda::DeviceWeight>(const CheckpointReader&, const DrafterConfig&,
                                                                          const CheckpointReader&, const ModelConfig&,
                                                                          const PlaceWeight<cuda::DeviceWeight>&);

std::unique_ptr<CudaDrafter> CudaDrafter::load(const CheckpointReader& drafter, const CheckpointReader& target,
                                               const CudaDrafterOptions& options) {
  DrafterConfigs c = read_drafter_configs(drafter, target);
  const PlaceWeight<cuda::DeviceWeight> upload = [](HostWeight&& h) { return cuda::DeviceWeight(h); };
  DeviceDrafterWeights weights = load_drafter_weights_to<cuda::DeviceWeight>(drafter, c.drafter, target, c.target, upload);
  return std::make_unique<CudaDrafter>(std::move(c.drafter), std::move(weights), options);
}

CudaDrafter::CudaDrafter(DrafterConfig config, DeviceDrafterWeights weights, const CudaDrafterOptions& options)
    : config_(std::move(config)),
      w_(std::move(weights)),
      options_(options),
      plan_(make_shard_plan(config_.model, 0, 1, MoeParallel::Tp)),
      slots_(options.num_slots, options.capacity),
      own_stream_(options.stream ? std::nullopt : std::make_optional<cuda::Stream>()),
      stream_(options.stream ? options.stream : own_stream_->get()) {
  const ModelConfig& c = config_.model;
  TACHYON_CHECK(config_.num_taps() > 0, "drafter config not validated against the target (no target_layer_ids)");
  TACHYON_CHECK(static_cast<int>(w_.layers.size()) == c.num_layers, "{} layer weights for {} layers", w_.layers.size(),
                c.num_layers);
  const size_t S = options_.num_slots, M = S * kMaxDraftBlock, P = kContextPiece;
  const size_t H = c.hidden_size, K = config_.num_taps(), D = c.head_dim, Dv = c.v_head_dim, V = c.vocab_size;
  const size_t I = c.dense_intermediate_size;
  size_t hq_max = 0, hkv_max = 0;
  for (int l = 0; l < c.num_layers; ++l) {
    const AttentionShard& a = plan_.attention[l];
    const size_t hkv = a.kv_heads.size();
    hq_max = std::max<size_t>(hq_max, a.q_heads.size());
    hkv_max = std::max(hkv_max, hkv);
    k_cache_.emplace_back(S * options_.capacity * hkv * D);
    v_cache_.emplace_back(S * options_.capacity * hkv * Dv);
    inv_freq_.push_back(cuda::DeviceBuffer<float>::from(c.layers[l].rope.inverse_frequencies()));
    kv_head_of_.push_back(cuda::DeviceBuffer<int32_t>::from(std::vector<int32_t>(a.kv_head_of.begin(), a.kv_head_of.end())));
  }

  if (!reads_device_taps()) ctx_taps_host_ = cuda::PinnedBuffer<float>(P * K * H);
  ctx_meta_host_ = cuda::PinnedBuffer<int32_t>(3 * P);
  ctx_taps_ = cuda::DeviceBuffer<float>(P * K * H);
  ctx_ = cuda::DeviceBuffer<float>(P * H);
  ctx_k_ = cuda::DeviceBuffer<float>(P * hkv_max * D);
  ctx_v_ = cuda::DeviceBuffer<float>(P * hkv_max * Dv);
  ctx_meta_ = cuda::DeviceBuffer<int32_t>(3 * P);

  const size_t words = S + 3 * M + 4 * S + M;
  meta_host_ = cuda::PinnedBuffer<int32_t>(words);
  meta_ = cuda::DeviceBuffer<int32_t>(words);
  anchors_ = meta_.get();
  row_source_ = anchors_ + S;
  positions_ = row_source_ + M;
  row_slot_ = positions_ + M;
  seq_slot_ = row_slot_ + M;
  seq_start_ = seq_slot_ + S;
  seq_count_ = seq_start_ + S;
  seq_first_row_ = seq_count_ + S;
  logit_rows_ = seq_first_row_ + S;

  table_ = cuda::DeviceBuffer<float>((1 + S) * H);
  x_ = cuda::DeviceBuffer<float>(M * H);
  h_ = cuda::DeviceBuffer<float>(M * H);
  y_ = cuda::DeviceBuffer<float>(M * H);
  q_ = cuda::DeviceBuffer<float>(M * hq_max * D);
  k_ = cuda::DeviceBuffer<float>(M * hkv_max * D);
  v_ = cuda::DeviceBuffer<float>(M * hkv_max * Dv);
  attn_ = cuda::DeviceBuffer<float>(M * hq_max * Dv);
  gate_ = cuda::DeviceBuffer<float>(M * I);
  up_ = cuda::DeviceBuffer<float>(M * I);
  act_ = cuda::DeviceBuffer<float>(M * I);
  const size_t R = M - S;  // logit rows: every block row but the anchors
  selected_ = cuda::DeviceBuffer<float>(R * H);
  logits_ = cuda::DeviceBuffer<float>(R * V);
  argmax_ = cuda::DeviceBuffer<cuda::ArgmaxCandidate>(R);
  argmax_host_ = cuda::PinnedBuffer<cuda::ArgmaxCandidate>(R);
  if (options_.return_logits) logits_host_ = cuda::PinnedBuffer<float>(R * V);

  // Row 0 of the block source table is the mask embedding, for every draft.
  CUDA_CHECK(cudaMemcpy(table_.get(), w_.mask_embedding.f32(), H * sizeof(float), cudaMemcpyDeviceToDevice));
  cuda::finish_setup_copies();
}

CudaDrafter::~CudaDrafter() = default;

size_t CudaDrafter::weight_bytes() const {
  size_t b = w_.fc.bytes() + w_.hidden_norm.bytes() + w_.final_norm.bytes() + w_.embed.bytes() + w_.lm_head.bytes() +
             w_.mask_embedding.bytes();
  for (const auto& l : w_.layers)
    for (const cuda::DeviceWeight* w : {&l.attn_norm, &l.mlp_norm, &l.attn.q, &l.attn.k, &l.attn.v, &l.attn.o, &l.attn.q_bias,
                                        &l.attn.k_bias, &l.attn.v_bias, &l.attn.o_bias, &l.attn.q_norm, &l.attn.k_norm,
                                        &l.attn.sinks, &l.mlp.gate, &l.mlp.up, &l.mlp.down})
      b += w->bytes();
  return b;
}

size_t CudaDrafter::kv_cache_bytes() const {
  size_t b = 0;
  for (size_t l = 0; l < k_cache_.size(); ++l) b += k_cache_[l].bytes() + v_cache_[l].bytes();
  return b;
}

cuda::KvCacheView CudaDrafter::cache_view(int l) {
  const ModelConfig& c = config_.model;
  return {k_cache_[l].get(), v_cache_[l].get(), options_.capacity, static_cast<int>(plan_.attention[l].kv_heads.size()),
          c.head_dim, c.v_head_dim};
}

// ---- context ----

void CudaDrafter::add_context(const std::vector<DraftContext>& chunks) {
  const ModelConfig& c = config_.model;
  const size_t row_floats = static_cast<size_t>(config_.num_taps()) * c.hidden_size;
  const DraftSlots::ContextRows rows = slots_.check_context(chunks);
  std::vector<const float*> taps;  // per row
  for (const DraftContext& ch : chunks)
    for (int i = 0; i < ch.count; ++i) taps.push_back(ch.taps + i * row_floats);
  // Device taps: every row's place in the step's buffer, counted from its lowest row.
  const bool on_device = reads_device_taps();
  const float* base = on_device && !taps.empty() ? *std::min_element(taps.begin(), taps.end()) : nullptr;
  cudaStream_t st = stream_;
  int32_t* positions = ctx_meta_host_.get();
  int32_t* slots = positions + kContextPiece;
  int32_t* sources = slots + kContextPiece;
  for (size_t r0 = 0; r0 < taps.size(); r0 += kContextPiece) {
    const size_t n = std::min<size_t>(kContextPiece, taps.size() - r0);
    ctx_staged_.synchronize();  // the last piece's copies have left the staging buffers
    std::copy_n(rows.positions.begin() + r0, n, positions);
    std::copy_n(rows.slots.begin() + r0, n, slots);
    if (on_device) {
      for (size_t i = 0; i < n; ++i) {
        const std::ptrdiff_t offset = taps[r0 + i] - base;
        TACHYON_CHECK(offset % static_cast<std::ptrdiff_t>(row_floats) == 0 && offset / row_floats <= INT32_MAX,
                      "add_context: device taps of one call must be rows of one buffer");
        sources[i] = static_cast<int32_t>(offset / row_floats);
      }
    } else {
      for (size_t i = 0; i < n; ++i) std::memcpy(ctx_taps_host_.get() + i * row_floats, taps[r0 + i], row_floats * sizeof(float));
      CUDA_CHECK(cudaMemcpyAsync(ctx_taps_.get(), ctx_taps_host_.get(), n * row_floats * sizeof(float), cudaMemcpyHostToDevice, st));
    }
    // positions and slots; the gather's source rows only where the taps are on the device
    const size_t meta_ints = (on_device ? 3 : 2) * static_cast<size_t>(kContextPiece);
    CUDA_CHECK(cudaMemcpyAsync(ctx_meta_.get(), ctx_meta_host_.get(), meta_ints * sizeof(int32_t), cudaMemcpyHostToDevice, st));
    ctx_staged_.record(st);
    if (on_device) cuda::gather_rows(base, ctx_meta_.get() + 2 * kContextPiece, static_cast<int>(n), static_cast<int>(row_floats),
                                     ctx_taps_.get(), st);
    context_piece(static_cast<int>(n));
  }
  slots_.commit(rows);
}

// ctx = hidden_norm(fc(taps)); then every layer's own k/v projections of ctx (no input_layernorm), k_norm,
// RoPE at the absolute positions and the value scale, into the cache at (slot, position).
void CudaDrafter::context_piece(int n) {
  const ModelConfig& c = config_.model;
  cudaStream_t st = stream_;
  const int H = c.hidden_size;
  const int32_t* positions = ctx_meta_.get();
  const int32_t* slots = positions + kContextPiece;
  cuda::linear(ctx_taps_.get(), n, w_.fc.matrix(), ctx_.get(), {}, st);
  cuda::rmsnorm(ctx_.get(), w_.hidden_norm.f32(), n, H, c.rms_norm_eps, ctx_.get(), st);
  for (int l = 0; l < c.num_layers; ++l) {
    const AttentionWeightsT<cuda::DeviceWeight>& w = w_.layers[l].attn;
    const cuda::LinearPart kv[] = {{w.k.matrix(), ctx_k_.get(), w.k_bias.f32()}, {w.v.matrix(), ctx_v_.get(), w.v_bias.f32()}};
    cuda::linear_grouped(ctx_.get(), n, kv, {}, st);
    prepare_qkv(l, n, 0, positions, slots);
  }
}

void CudaDrafter::prepare_qkv(int l, int rows, int q_heads, const int32_t* positions, const int32_t* slots) {
  const ModelConfig& c = config_.model;
  const LayerConfig& lc = c.layers[l];
  const AttentionWeightsT<cuda::DeviceWeight>& w = w_.layers[l].attn;
  const bool context = q_heads == 0;
  const cuda::QkvPrepareParams p =
      qkv_prepare_params(c, l, w, inv_freq_[l].get(), rows, q_heads, lc.num_kv_heads, positions, slots);
  cuda::qkv_prepare(context ? nullptr : q_.get(), context ? ctx_k_.get() : k_.get(), context ? ctx_v_.get() : v_.get(), p,
                    cache_view(l), stream_);
}

// ---- draft ----

std::vector<Draft> CudaDrafter::draft(const std::vector<DraftRequest>& requests) {
  const ModelConfig& c = config_.model;
  const size_t V = c.vocab_size;
  const DraftSlots::BlockRows rows = slots_.check_draft(requests, config_.block_size, V);
  const std::vector<DraftRequest>& reqs = rows.requests;
  const int S = static_cast<int>(reqs.size()), M = static_cast<int>(rows.positions.size());
  if (S == 0) return {};
  Shape s{M, S, 0};
  for (const DraftRequest& r : reqs) s.max_count = std::max(s.max_count, r.block_size);

  // Metadata (layout in the header): every buffer's first entries, the rest stale and unread.
  const size_t NS = options_.num_slots, NM = NS * kMaxDraftBlock;
  int32_t* h = meta_host_.get();
  int32_t *anchors = h, *row_source = h + NS, *positions = row_source + NM, *row_slot = positions + NM;
  int32_t *seq_slot = row_slot + NM, *seq_start = seq_slot + NS, *seq_count = seq_start + NS;
  int32_t *seq_first_row = seq_count + NS, *logit_rows = seq_first_row + NS;
  int out_row = 0;
  for (int i = 0; i < S; ++i) {
    const DraftRequest& r = reqs[i];
    const int first = static_cast<int>(rows.first_row[i]);
    anchors[i] = r.anchor_token;
    seq_slot[i] = r.slot;
    seq_start[i] = r.position;
    seq_count[i] = r.block_size;
    seq_first_row[i] = first;
    for (int j = 0; j < r.block_size; ++j) {
      row_source[first + j] = j == 0 ? 1 + i : 0;  // the anchor's embedding, then the mask embedding
      positions[first + j] = r.position + j;
      row_slot[first + j] = r.slot;
      if (j > 0) logit_rows[out_row++] = first + j;
    }
  }
  cudaStream_t st = stream_;
  CUDA_CHECK(cudaMemcpyAsync(meta_.get(), h, meta_host_.size() * sizeof(int32_t), cudaMemcpyHostToDevice, st));
  launch(s);

  const int R = M - S;
  CUDA_CHECK(cudaMemcpyAsync(argmax_host_.get(), argmax_.get(), R * sizeof(cuda::ArgmaxCandidate), cudaMemcpyDeviceToHost, st));
  if (options_.return_logits)
    CUDA_CHECK(cudaMemcpyAsync(logits_host_.get(), logits_.get(), R * V * sizeof(float), cudaMemcpyDeviceToHost, st));
  CUDA_CHECK(cudaStreamSynchronize(st));
  std::vector<Draft> out(S);
  size_t row = 0;
  for (int i = 0; i < S; ++i) {
    const size_t n = static_cast<size_t>(reqs[i].block_size) - 1;
    for (size_t j = 0; j < n; ++j) out[i].tokens.push_back(argmax_host_.get()[row + j].id);
    if (options_.return_logits) out[i].logits.assign(logits_host_.get() + row * V, logits_host_.get() + (row + n) * V);
    row += n;
  }
  return out;
}

void CudaDrafter::enqueue_last_draft() {
  TACHYON_CHECK(last_.seqs > 0, "enqueue_last_draft before any draft");
  launch(last_);
}

void CudaDrafter::launch(const Shape& s) {
  last_ = s;
  cudaStream_t st = stream_;
  graphs_.run(s.key(), st, options_.use_graphs, [&] { forward(s); });
}

// The block [anchor, MASK x (B-1)] of every request through every layer, then the final norm and the
// target's LM head on block rows 1..B-1 and their arg-max (lowest id on ties).
void CudaDrafter::forward(const Shape& s) {
  const ModelConfig& c = config_.model;
  cudaStream_t st = stream_;
  const int M = s.rows, H = c.hidden_size, R = s.rows - s.seqs;
  const size_t I = c.dense_intermediate_size;
  cuda::embed(anchors_, s.seqs, w_.embed.matrix(), 0, table_.get() + H, st);
  cuda::gather_rows(table_.get(), row_source_, M, H, x_.get(), st);
  for (int l = 0; l < c.num_layers; ++l) {
    const DrafterLayerWeightsT<cuda::DeviceWeight>& w = w_.layers[l];
    cuda::rmsnorm(x_.get(), w.attn_norm.f32(), M, H, c.rms_norm_eps, h_.get(), st);
    attention(l, s);
    cuda::add_rmsnorm(y_.get(), x_.get(), w.mlp_norm.f32(), M, H, c.rms_norm_eps, h_.get(), st);
    const cuda::LinearPart gate_up[] = {{w.mlp.gate.matrix(), gate_.get()}, {w.mlp.up.matrix(), up_.get()}};
    cuda::linear_grouped(h_.get(), M, gate_up, {}, st);
    cuda::swiglu(gate_.get(), up_.get(), M * I, cpu::SwigluParams{}, act_.get(), st);  // as CpuDrafter: silu(gate) * up
    // The residual add in the down projection's epilogue (x += down(act): the same sum, one launch fewer).
    cuda::linear(act_.get(), M, w.mlp.down.matrix(), x_.get(), {nullptr, true}, st);
  }
  cuda::gather_rows(x_.get(), logit_rows_, R, H, selected_.get(), st);
  cuda::rmsnorm(selected_.get(), w_.final_norm.f32(), R, H, c.rms_norm_eps, selected_.get(), st);
  cuda::linear(selected_.get(), R, w_.head().matrix(), logits_.get(), {}, st);
  cuda::row_argmax(logits_.get(), R, static_cast<int>(c.vocab_size), 0, argmax_.get(), st);
}

// Attention of the block rows h_ (already input-normed) of every request; y_ = o_proj(attention). The
// block's k/v go into the cache right after each slot's context (scratch rows, not part of the
// context), so that the kernel sees keys [0, p + B) with key j at position j.
void CudaDrafter::attention(int l, const Shape& s) {
  const ModelConfig& c = config_.model;
  const LayerConfig& lc = c.layers[l];
  const AttentionWeightsT<cuda::DeviceWeight>& w = w_.layers[l].attn;
  cudaStream_t st = stream_;
  const int M = s.rows, hq = lc.num_q_heads;
  const cuda::LinearPart qkv[] = {{w.q.matrix(), q_.get(), w.q_bias.f32()},
                                  {w.k.matrix(), k_.get(), w.k_bias.f32()},
                                  {w.v.matrix(), v_.get(), w.v_bias.f32()}};
  cuda::linear_grouped(h_.get(), M, qkv, {}, st);
  prepare_qkv(l, M, hq, positions_, row_slot_);  // QK-norm, RoPE, value scale, KV write
  const cuda::KvCacheView cache = cache_view(l);
  const cuda::AttentionBatch batch{seq_slot_, seq_start_, seq_count_, seq_first_row_, s.seqs, s.max_count};
  cuda::AttentionParams p;
  p.num_q_heads = hq;
  p.kv_head_of = kv_head_of_[l].get();
  p.scale = c.attention_scale;
  p.window = lc.sliding ? lc.sliding_window : 0;
  p.causal = config_.causal[l];
  p.sinks = w.sinks.f32();
  p.workspace = &attn_workspace_;
  cuda::attention(q_.get(), batch, cache, p, attn_.get(), st);
  cuda::linear(attn_.get(), M, w.o.matrix(), y_.get(), {w.o_bias.f32(), false}, st);
}

}  // namespace tachyon
