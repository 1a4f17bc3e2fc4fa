#include "runtime/cuda/cuda_target_step.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/norm_router.h"
#include "kernels/cuda/qkv_prepare.h"
#include "model/error.h"
#include "runtime/cuda/qkv_prepare_params.h"
#include "runtime/target_weights_load.h"

namespace tachyon {

using comm::DType;
using comm::ReduceOp;

template TargetWeightsT<cuda::DeviceWeight> load_target_weights_to<cuda::DeviceWeight>(
    const CheckpointReader&, const ModelConfig&, const ShardPlan&, const PlaceWeight<cuda::DeviceWeight>&, const LoadProgress&);

DeviceTargetWeights load_device_weights(const CheckpointReader& reader, const ModelConfig& config, const ShardPlan& plan,
                                        const LoadProgress& progress) {
  const PlaceWeight<cuda::DeviceWeight> upload = [](HostWeight&& h) { return cuda::DeviceWeight(h); };
  return load_target_weights_to<cuda::DeviceWeight>(reader, config, plan, upload, progress);
}

namespace {
template <typename W>
size_t weight_bytes_of(const LayerWeightsT<W>& l) {
  size_t b = l.attn_norm.bytes() + l.mlp_norm.bytes();
  for (const W* w : {&l.attn.q, &l.attn.k, &l.attn.v, &l.attn.o, &l.attn.q_bias, &l.attn.k_bias, &l.attn.v_bias,
                     &l.attn.o_bias, &l.attn.q_norm, &l.attn.k_norm, &l.attn.sinks, &l.mlp.gate, &l.mlp.up, &l.mlp.down,
                     &l.moe.router, &l.moe.router_bias, &l.moe.correction_bias, &l.moe.gate, &l.moe.up, &l.moe.down,
                     &l.moe.gate_bias, &l.moe.up_bias, &l.moe.down_bias})
    b += w->bytes();
  return b;
}
}  // namespace

CudaTargetStep::CudaTargetStep(const ModelConfig& config, ShardPlan plan, DeviceTargetWeights weights, comm::NcclComm& nccl,
                               const CudaStepLimits& limits, std::vector<int> tap_layers)
    : config_(config), plan_(std::move(plan)), w_(std::move(weights)), nccl_(nccl), limits_(limits),
      tap_layers_(std::move(tap_layers)),
      ep_exchange_(config.has_moe() && plan_.moe == MoeParallel::Ep && plan_.world > 1) {
  comm_ = std::make_unique<comm::NcclCollectives>(nccl_, stream_.get());
  const ModelConfig& c = config_;
  const size_t T = limits_.max_tokens, R = limits_.max_logit_rows, S = limits_.num_slots, H = c.hidden_size;
  if (plan_.world > 1 && comm::peer_all_reduce_enabled())
    peers_ = std::make_unique<comm::PeerBuffers>(nccl_, static_cast<int>(T), static_cast<int>(H), stream_.get());
  const size_t D = c.head_dim, Dv = c.v_head_dim;
  size_t hq_max = 0, hkv_max = 0;
  for (int l = 0; l < c.num_layers; ++l) {
    const AttentionShard& a = plan_.attention[l];
    const size_t hkv = a.kv_heads.size();
    hq_max = std::max<size_t>(hq_max, a.q_heads.size());
    hkv_max = std::max(hkv_max, hkv);
    const size_t per_slot = static_cast<size_t>(limits_.capacity) * hkv;
    k_cache_.emplace_back(S * per_slot * D);
    v_cache_.emplace_back(S * per_slot * Dv);
    inv_freq_.push_back(cuda::DeviceBuffer<float>::from(c.layers[l].rope.inverse_frequencies()));
    kv_head_of_.push_back(cuda::DeviceBuffer<int32_t>::from(std::vector<int32_t>(a.kv_head_of.begin(), a.kv_head_of.end())));
  }
  // Attention takes at most kMaxQueriesPerCall queries of a sequence per piece: a longer chunk (a
  // prefill) is split into pieces, at most one partial piece per sequence.
  const size_t P = max_attention_pieces();
  meta_words_ = 3 * T + 4 * P + R;
  meta_ = cuda::DeviceBuffer<int32_t>(meta_words_);
  CUDA_CHECK(cudaMallocHost(&meta_host_, meta_words_ * sizeof(int32_t)));
  int32_t* m = meta_.get();
  tokens_ = m;
  positions_ = m + T;
  row_slot_ = m + 2 * T;
  seq_slot_ = m + 3 * T;
  seq_start_ = seq_slot_ + P;
  seq_count_ = seq_start_ + P;
  seq_first_row_ = seq_count_ + P;
  logit_rows_ = seq_first_row_ + P;

  x_ = cuda::DeviceBuffer<float>(T * H);
  h_ = cuda::DeviceBuffer<float>(T * H);
  partial_ = cuda::DeviceBuffer<float>(T * H);
  q_ = cuda::DeviceBuffer<float>(T * hq_max * D);
  k_ = cuda::DeviceBuffer<float>(T * hkv_max * D);
  v_ = cuda::DeviceBuffer<float>(T * hkv_max * Dv);
  attn_ = cuda::DeviceBuffer<float>(T * hq_max * Dv);
  const size_t I = plan_.dense_intermediate.size();
  gate_ = cuda::DeviceBuffer<float>(T * I);
  up_ = cuda::DeviceBuffer<float>(T * I);
  act_ = cuda::DeviceBuffer<float>(T * I);
  if (c.has_moe()) {
    const size_t K = c.top_k, E = c.num_experts, local = plan_.experts.size(), Is = plan_.expert_intermediate.size();
    router_logits_ = cuda::DeviceBuffer<float>(T * E);
    route_weights_ = cuda::DeviceBuffer<float>(T * K);
    expert_ids_ = cuda::DeviceBuffer<int32_t>(T * K);
    routing_i32_ = cuda::DeviceBuffer<int32_t>((local + 1) + T * K + 1 + local);
    moe_act_ = cuda::DeviceBuffer<float>(T * K * Is);
    moe_out_ = cuda::DeviceBuffer<float>(T * K * H);
    tail_counter_ = cuda::DeviceBuffer<uint32_t>(1);
    CUDA_CHECK(cudaMemsetAsync(tail_counter_.get(), 0, tail_counter_.bytes(), stream_.get()));
    routing_.expert_offsets = routing_i32_.get();
    routing_.pair_index = routing_.expert_offsets + local + 1;
    routing_.active_count = routing_.pair_index + T * K;
    routing_.active_experts = routing_.active_count + 1;
    routing_.local_experts = static_cast<int>(local);
    routing_.expert_begin = static_cast<int>(plan_.experts.begin);
    routing_.max_pairs = static_cast<int>(T * K);
    if (ep_exchange_) {
      // ep over several ranks: a share of at most ceil(T / N) tokens, m * K slots for every destination.
      const size_t N = plan_.world, share = (T + N - 1) / N, slots = N * share * K;
      std::vector<int32_t> owner(E);
      for (size_t e = 0; e < E; ++e) owner[e] = plan_.owner_of_expert(static_cast<int>(e));
      expert_owner_ = cuda::DeviceBuffer<int32_t>::from(owner);
      xl_ = cuda::DeviceBuffer<float>(share * H);
      send_ids_ = cuda::DeviceBuffer<int32_t>(slots);
      send_weights_ = cuda::DeviceBuffer<float>(slots);
      send_x_ = cuda::DeviceBuffer<float>(slots * H);
      pair_slot_ = cuda::DeviceBuffer<int32_t>(share * K);
      recv_ids_ = cuda::DeviceBuffer<int32_t>(T * K);
      recv_weights_ = cuda::DeviceBuffer<float>(T * K);
      recv_x_ = cuda::DeviceBuffer<float>(T * K * H);
    }
  }
  const size_t V = plan_.vocab.size();
  selected_ = cuda::DeviceBuffer<float>(R * H);
  logits_ = cuda::DeviceBuffer<float>(R * V);
  argmax_ = cuda::DeviceBuffer<cuda::ArgmaxCandidate>(R);
  if (!tap_layers_.empty()) taps_ = cuda::DeviceBuffer<float>(T * tap_layers_.size() * H);
  CUDA_CHECK(cudaMallocHost(&logits_host_, R * V * sizeof(float)));
  CUDA_CHECK(cudaMallocHost(&argmax_host_, R * sizeof(cuda::ArgmaxCandidate)));
}

CudaTargetStep::~CudaTargetStep() {
  if (meta_host_) cudaFreeHost(meta_host_);
  if (logits_host_) cudaFreeHost(logits_host_);
  if (argmax_host_) cudaFreeHost(argmax_host_);
}

size_t CudaTargetStep::weight_bytes() const {
  size_t b = w_.embed.bytes() + w_.lm_head.bytes() + w_.final_norm.bytes();
  for (const auto& l : w_.layers) b += weight_bytes_of(l);
  return b;
}

size_t CudaTargetStep::kv_cache_bytes() const {
  size_t b = 0;
  for (size_t l = 0; l < k_cache_.size(); ++l) b += k_cache_[l].bytes() + v_cache_[l].bytes();
  return b;
}

size_t CudaTargetStep::max_attention_pieces() const {
  const size_t q = cuda::kMaxQueriesPerCall;
  return static_cast<size_t>(limits_.num_slots) + (static_cast<size_t>(limits_.max_tokens) + q - 1) / q;
}

int CudaTargetStep::attention_pieces(const StepBatch& batch) {
  int pieces = 0;
  for (const auto& c : batch.seqs) pieces += (c.count + cuda::kMaxQueriesPerCall - 1) / cuda::kMaxQueriesPerCall;
  return pieces;
}

void CudaTargetStep::upload_metadata(const StepBatch& batch, const Shape& s) {
  const size_t T = limits_.max_tokens, P = max_attention_pieces();
  int32_t* h = meta_host_;
  std::fill(h, h + meta_words_, 0);
  std::copy(batch.tokens.begin(), batch.tokens.end(), h);
  int32_t row = 0, out_row = 0;
  size_t piece = 0;
  for (size_t i = 0; i < batch.seqs.size(); ++i) {
    const SequenceChunk& c = batch.seqs[i];
    // Causal attention sees keys up to each query's own position, and the whole chunk's K/V are in the
    // cache before attention runs: the pieces of a chunk are independent.
    for (int first = 0; first < c.count; first += cuda::kMaxQueriesPerCall, ++piece) {
      h[3 * T + piece] = c.slot;
      h[3 * T + P + piece] = c.start + first;
      h[3 * T + 2 * P + piece] = std::min(cuda::kMaxQueriesPerCall, c.count - first);
      h[3 * T + 3 * P + piece] = row + first;
    }
    for (int t = 0; t < c.count; ++t) {
      h[T + row + t] = c.start + t;
      h[2 * T + row + t] = c.slot;
      if (t >= c.logits_from) h[3 * T + 4 * P + out_row++] = row + t;
    }
    row += c.count;
  }
  TACHYON_CHECK(static_cast<int>(piece) == s.pieces, "{} attention pieces, {} expected", piece, s.pieces);
  CUDA_CHECK(cudaMemcpyAsync(meta_.get(), meta_host_, meta_words_ * sizeof(int32_t), cudaMemcpyHostToDevice, stream_.get()));
}

CudaTargetStep::Shape CudaTargetStep::checked_shape(const StepBatch& batch) const {
  Shape s{static_cast<int>(batch.tokens.size()), static_cast<int>(batch.seqs.size()), batch.logit_rows(), 0,
          attention_pieces(batch)};
  for (const auto& c : batch.seqs) {
    s.max_count = std::max(s.max_count, static_cast<int>(c.count));
    TACHYON_CHECK(c.slot >= 0 && c.slot < limits_.num_slots && c.start >= 0 && c.start + c.count <= limits_.capacity,
                  "chunk slot {} [{}, {}) outside the KV cache", c.slot, c.start, c.start + c.count);
  }
  TACHYON_CHECK(s.tokens <= limits_.max_tokens && s.seqs <= limits_.num_slots && s.logit_rows <= limits_.max_logit_rows,
                "step of {} tokens, {} sequences, {} logit rows exceeds the limits {}, {}, {}", s.tokens, s.seqs,
                s.logit_rows, limits_.max_tokens, limits_.num_slots, limits_.max_logit_rows);
  return s;
}

std::vector<int> CudaTargetStep::count_active_experts(const StepBatch& batch) {
  const Shape s = checked_shape(batch);
  if (active_by_layer_.empty()) active_by_layer_ = cuda::DeviceBuffer<int32_t>(config_.num_layers);
  CUDA_CHECK(cudaMemsetAsync(active_by_layer_.get(), 0, active_by_layer_.bytes(), stream_.get()));
  upload_metadata(batch, s);
  count_active_ = true;
  forward(s);
  count_active_ = false;
  CUDA_CHECK(cudaStreamSynchronize(stream_.get()));
  nccl_.check_async_error();
  const std::vector<int32_t> counts = active_by_layer_.download();
  return {counts.begin(), counts.end()};
}

void CudaTargetStep::run(const StepBatch& batch, StepOutput& out) {
  const Shape s = checked_shape(batch);
  upload_metadata(batch, s);
  cudaStream_t st = stream_.get();
  graphs_.run(s.key(), st, limits_.use_graphs, [&] { forward(s); });
  const size_t R = s.logit_rows, V = plan_.vocab.size(), H = config_.hidden_size;
  CUDA_CHECK(cudaMemcpyAsync(argmax_host_, argmax_.get(), R * sizeof(cuda::ArgmaxCandidate), cudaMemcpyDeviceToHost, st));
  if (out.want_host_logits)
    CUDA_CHECK(cudaMemcpyAsync(logits_host_, logits_.get(), R * V * sizeof(float), cudaMemcpyDeviceToHost, st));
  CUDA_CHECK(cudaStreamSynchronize(st));
  nccl_.check_async_error();
  static_assert(sizeof(LocalArgmax) == sizeof(cuda::ArgmaxCandidate), "same layout");
  out.local_argmax.resize(R);
  std::memcpy(out.local_argmax.data(), argmax_host_, R * sizeof(LocalArgmax));
  if (out.want_host_logits) out.logits.assign(logits_host_, logits_host_ + R * V);
  else out.logits.clear();
  out.device_taps = tap_layers_.empty() ? nullptr : taps_.get();
  if (!tap_layers_.empty() && out.want_host_taps) out.taps = taps_.download(static_cast<size_t>(s.tokens) * tap_layers_.size() * H);
  else out.taps.clear();
}

void CudaTargetStep::forward(const Shape& s) {
  const ModelConfig& c = config_;
  cudaStream_t st = stream_.get();
  const size_t M = s.tokens, H = c.hidden_size;
  cuda::embed(tokens_, s.tokens, w_.embed.matrix(), static_cast<int>(plan_.vocab.begin), x_.get(), st);
  comm_->all_reduce(x_.get(), M * H, DType::F32, ReduceOp::Sum);
  // Each residual add is fused with the norm that follows it (the next block's input h; after the last layer,
  // the final norm, so that the LM head's rows are gathered from h).
  cuda::rmsnorm(x_.get(), w_.layers[0].attn_norm.f32(), s.tokens, H, c.rms_norm_eps, h_.get(), st);
  for (int l = 0; l < c.num_layers; ++l) {
    const float* next_norm = l + 1 < c.num_layers ? w_.layers[l + 1].attn_norm.f32() : w_.final_norm.f32();
    attention_block(l, s, partial_.get());
    if (ep_exchange_ && c.layers[l].moe) {
      // ep over several ranks: each rank takes a share of the tokens to their experts and back, and the
      // shares are gathered (x complete again); then the next norm.
      moe_ep_block(l, s);
      cuda::rmsnorm(x_.get(), next_norm, s.tokens, H, c.rms_norm_eps, h_.get(), st);
      copy_taps(l, s);
      continue;
    }
    // One rank: the MoE's combine, the residual add and the next norm are one launch.
    const bool fuse_combine = c.layers[l].moe && plan_.world == 1;
    // And, for few tokens, the attention's residual add, the norm and the router are one launch before the
    // experts; that launch leaves x_ as it was (its CTAs all read it), and the combine adds partial_ first.
    // Its logits sum in another order than the router's linear (several ranks): near-ties may route apart.
    const float* mlp_norm = w_.layers[l].mlp_norm.f32();
    const bool fuse_router =
        fuse_combine && limits_.fuse_norm_router &&
        cuda::add_rmsnorm_router_fits(s.tokens, H, w_.layers[l].moe.router.matrix(), partial_.get(), x_.get(), mlp_norm,
                                      h_.get());
    if (fuse_router)
      cuda::add_rmsnorm_router(partial_.get(), x_.get(), mlp_norm, s.tokens, H, c.rms_norm_eps,
                               w_.layers[l].moe.router.matrix(), w_.layers[l].moe.router_bias.f32(), h_.get(),
                               router_logits_.get(), st);
    else
      reduce_add_norm(mlp_norm, s.tokens);
    // Several ranks (tp): the combine inside the all-reduce's kernel, where it can (the push of the fused peer
    // all-reduce; one process: combine_add_rmsnorm). One launch fewer a MoE layer; 2 x H200, same binary
    // (docs/benchmarks.md "Session 20"): the MiMo-V2.5-Pro slice's step 1.027x at 1 x 1, 1.017x at 1 x 9.
    const bool combine_in_reduce =
        c.layers[l].moe && !fuse_combine && limits_.fuse_combine && reduce_sums_slots(s.tokens);
    const cuda::MoeDownTail tail{x_.get(), fuse_router ? partial_.get() : nullptr, next_norm, c.rms_norm_eps, h_.get(),
                                 tail_counter_.get()};
    bool tail_ran = false;  // moe_down's last CTA made x_ and h_
    if (c.layers[l].moe)
      tail_ran = moe_block(l, s, fuse_combine || combine_in_reduce ? nullptr : partial_.get(), fuse_router,
                           fuse_combine && limits_.fuse_down_tail ? &tail : nullptr);
    else dense_mlp(l, s, partial_.get());
    if (fuse_combine) {
      if (!tail_ran)
        cuda::combine_add_rmsnorm(moe_out_.get(), c.top_k, x_.get(), next_norm, s.tokens, H, c.rms_norm_eps, h_.get(), st,
                                  fuse_router ? partial_.get() : nullptr);
    } else {
      reduce_add_norm(next_norm, s.tokens, combine_in_reduce ? c.top_k : 0);
    }
    copy_taps(l, s);
  }
  const int R = s.logit_rows;
  cuda::gather_rows(h_.get(), logit_rows_, R, H, selected_.get(), st);
  cuda::linear(selected_.get(), R, w_.head().matrix(), logits_.get(), {}, st);
  cuda::row_argmax(logits_.get(), R, static_cast<int>(plan_.vocab.size()), static_cast<int>(plan_.vocab.begin), argmax_.get(), st);
}

bool CudaTargetStep::reduce_sums_slots(int rows) const {
  // The same answer on every rank: the view, rows and H are. One process (a benchmark's one rank of a
  // several-rank plan) has nothing to reduce: combine_add_rmsnorm, which falls back to separate launches
  // by itself.
  if (comm_->size() == 1) return true;
  return config_.top_k <= cuda::PeerReduce::kMaxSlots && peer_all_reduce() &&
         cuda::peer_reduce_fits(peers_->view(), rows, config_.hidden_size) && rows <= peers_->view().push_rows;
}

void CudaTargetStep::reduce_add_norm(const float* norm, int rows, int k) {
  const int H = config_.hidden_size;
  const float eps = config_.rms_norm_eps;
  cudaStream_t st = stream_.get();
  const float* partial = k > 0 ? moe_out_.get() : partial_.get();
  if (k > 0 && comm_->size() == 1) {
    cuda::combine_add_rmsnorm(partial, k, x_.get(), norm, rows, H, eps, h_.get(), st);
    return;
  }
  // The same choice on every rank: the view, rows and H are.
  if (peer_all_reduce() && cuda::peer_reduce_fits(peers_->view(), rows, H)) {
    cuda::peer_all_reduce_add_rmsnorm(peers_->view(), partial, x_.get(), norm, rows, H, eps, h_.get(), st, k);
    return;
  }
  TACHYON_CHECK(k == 0, "reduce_add_norm: slot rows need the fused peer all-reduce");
  comm_->all_reduce(partial_.get(), static_cast<size_t>(rows) * H, DType::F32, ReduceOp::Sum);
  cuda::add_rmsnorm(partial_.get(), x_.get(), norm, rows, H, eps, h_.get(), st);
}

void CudaTargetStep::copy_taps(int l, const Shape& s) {
  const size_t H = config_.hidden_size;
  for (size_t t = 0; t < tap_layers_.size(); ++t)
    if (tap_layers_[t] == l)
      CUDA_CHECK(cudaMemcpy2DAsync(taps_.get() + t * H, tap_layers_.size() * H * sizeof(float), x_.get(), H * sizeof(float),
                                   H * sizeof(float), s.tokens, cudaMemcpyDeviceToDevice, stream_.get()));
}

void CudaTargetStep::attention_block(int l, const Shape& s, float* partial) {
  const ModelConfig& c = config_;
  const LayerConfig& lc = c.layers[l];
  const AttentionWeightsT<cuda::DeviceWeight>& w = w_.layers[l].attn;
  const AttentionShard& a = plan_.attention[l];
  cudaStream_t st = stream_.get();
  const int M = s.tokens, H = c.hidden_size, D = c.head_dim, Dv = c.v_head_dim;
  const int hq = static_cast<int>(a.q_heads.size()), hkv = static_cast<int>(a.kv_heads.size());
  if (hq == 0) {
    CUDA_CHECK(cudaMemsetAsync(partial, 0, static_cast<size_t>(M) * H * sizeof(float), st));
    return;
  }
  // h_ holds this layer's attention input, attn_norm(x), from forward().
  const cuda::LinearPart qkv[] = {{w.q.matrix(), q_.get(), w.q_bias.f32()},
                                  {w.k.matrix(), k_.get(), w.k_bias.f32()},
                                  {w.v.matrix(), v_.get(), w.v_bias.f32()}};
  cuda::linear_grouped(h_.get(), M, qkv, {}, st);
  const cuda::KvCacheView cache{k_cache_[l].get(), v_cache_[l].get(), limits_.capacity, hkv, D, Dv};
  const cuda::QkvPrepareParams prep =
      qkv_prepare_params(c, l, w, inv_freq_[l].get(), M, hq, hkv, positions_, row_slot_);
  cuda::qkv_prepare(q_.get(), k_.get(), v_.get(), prep, cache, st);  // QK-norm, RoPE, value scale, KV write
  const cuda::AttentionBatch batch{seq_slot_, seq_start_, seq_count_, seq_first_row_, s.pieces,
                                   std::min(s.max_count, cuda::kMaxQueriesPerCall)};
  cuda::AttentionParams p;
  p.num_q_heads = hq;
  p.kv_head_of = kv_head_of_[l].get();
  p.scale = c.attention_scale;
  p.window = lc.sliding ? lc.sliding_window : 0;
  p.sinks = w.sinks.f32();
  // No chunk split into pieces (counting pieces would miss one split beside an empty chunk): every key
  // before a sequence's start is an earlier step's.
  p.prefetch_old_keys = s.max_count <= cuda::kMaxQueriesPerCall;
  p.workspace = &attn_workspace_;
  cuda::attention(q_.get(), batch, cache, p, attn_.get(), st);
  // The output bias is whole on every rank: only rank 0 adds it, so the all-reduce counts it once.
  cuda::linear(attn_.get(), M, w.o.matrix(), partial, {plan_.rank == 0 ? w.o_bias.f32() : nullptr, false}, st);
}

void CudaTargetStep::dense_mlp(int l, const Shape& s, float* partial) {
  const ModelConfig& c = config_;
  const DenseMlpWeightsT<cuda::DeviceWeight>& w = w_.layers[l].mlp;
  cudaStream_t st = stream_.get();
  const int M = s.tokens;
  const size_t I = plan_.dense_intermediate.size();
  if (I == 0) {
    CUDA_CHECK(cudaMemsetAsync(partial, 0, static_cast<size_t>(M) * c.hidden_size * sizeof(float), st));
    return;
  }
  const cuda::LinearPart gate_up[] = {{w.gate.matrix(), gate_.get()}, {w.up.matrix(), up_.get()}};
  cuda::linear_grouped(h_.get(), M, gate_up, {}, st);
  cuda::swiglu(gate_.get(), up_.get(), M * I, {c.swiglu, c.swiglu_limit, c.swiglu_alpha}, act_.get(), st);
  cuda::linear(act_.get(), M, w.down.matrix(), partial, {}, st);
}

void CudaTargetStep::route(int l, const float* h, int m, bool logits_ready) {
  const ModelConfig& c = config_;
  const MoeWeightsT<cuda::DeviceWeight>& w = w_.layers[l].moe;
  cudaStream_t st = stream_.get();
  // The router in FP32 activations: its top-k is a discrete choice that BF16 rounding can flip.
  if (!logits_ready) cuda::linear(h, m, w.router.matrix(), router_logits_.get(), {w.router_bias.f32(), false, true}, st);
  cuda::RouterDeviceParams rp;
  rp.kind = c.router;
  rp.num_experts = c.num_experts;
  rp.top_k = c.top_k;
  rp.normalize = c.norm_topk_prob;
  rp.scaling = c.routed_scaling_factor;
  rp.correction_bias = w.correction_bias.f32();
  cuda::moe_route(router_logits_.get(), m, rp, expert_ids_.get(), route_weights_.get(), st);
}

bool CudaTargetStep::run_experts(int l, const float* x, int m, int k, const int32_t* ids, const float* weights,
                                float bias_scale, float* out, const cuda::MoeDownTail* tail) {
  const ModelConfig& c = config_;
  const MoeWeightsT<cuda::DeviceWeight>& w = w_.layers[l].moe;
  cudaStream_t st = stream_.get();
  // Decode-sized steps let the expert GEMMs sort the pairs themselves (no moe_align launch, and moe_down
  // starts its weight stream before moe_gate_up ends); the active-expert count for the benchmark's
  // roofline still comes from moe_align, outside the timed steps.
  cuda::MoeRouting routing = routing_;
  if (cuda::moe_routes_in_kernel(m, k, routing_, x, w.gate.experts(), w.up.experts(), moe_act_.get(), w.down.experts()))
    routing.expert_ids = ids;
  if (!routing.expert_ids || count_active_) cuda::moe_align(ids, m, k, routing_, st);
  if (count_active_)
    CUDA_CHECK(cudaMemcpyAsync(active_by_layer_.get() + l, routing_.active_count, sizeof(int32_t), cudaMemcpyDeviceToDevice, st));
  cuda::moe_gate_up(x, m, k, routing, w.gate.experts(), w.up.experts(), w.gate_bias.f32(), w.up_bias.f32(),
                    {c.swiglu, c.swiglu_limit, c.swiglu_alpha}, moe_act_.get(), st);
  if (tail && cuda::moe_down_tail_fits(m, k, routing, moe_act_.get(), w.down.experts(), weights, *tail)) {
    cuda::moe_down_tail(moe_act_.get(), k, routing, w.down.experts(), w.down_bias.f32(), bias_scale, weights, out, *tail, st);
    ++down_tail_launches_;
    return true;
  }
  cuda::moe_down(moe_act_.get(), m, k, routing, w.down.experts(), w.down_bias.f32(), bias_scale, weights, out, st);
  return false;
}

bool CudaTargetStep::moe_block(int l, const Shape& s, float* partial, bool logits_ready, const cuda::MoeDownTail* tail) {
  const int M = s.tokens, K = config_.top_k, H = config_.hidden_size;
  cudaStream_t st = stream_.get();
  route(l, h_.get(), M, logits_ready);
  // tp: every rank holds every expert's slice and the whole down bias: count the bias on rank 0 only.
  // One rank under ep: it owns every expert and adds every bias.
  const float bias_scale = plan_.moe == MoeParallel::Ep || plan_.rank == 0 ? 1.0f : 0.0f;
  const bool tail_ran = run_experts(l, h_.get(), M, K, expert_ids_.get(), route_weights_.get(), bias_scale,
                                    moe_out_.get(), partial ? nullptr : tail);
  if (partial) cuda::moe_combine(moe_out_.get(), M, K, H, partial, st, /*accumulate=*/false);
  return tail_ran;
}

void CudaTargetStep::moe_ep_block(int l, const Shape& s) {
  const ModelConfig& c = config_;
  cudaStream_t st = stream_.get();
  const int M = s.tokens, K = c.top_k, H = c.hidden_size, N = plan_.world;
  const Range mine = split_range(M, N, plan_.rank);
  const int m = static_cast<int>(mine.size());
  float* x_mine = x_.get() + mine.begin * H;
  const std::vector<size_t> rows = token_split_counts(M, N, H);
  // This rank's share of the tokens: the attention output summed over ranks, the residual, the norm.
  comm_->reduce_scatter(partial_.get(), rows, DType::F32, ReduceOp::Sum, xl_.get());
  cuda::add_rmsnorm(xl_.get(), x_mine, w_.layers[l].mlp_norm.f32(), m, H, c.rms_norm_eps, h_.get(), st);
  route(l, h_.get(), m);
  const cuda::EpExchange ex{expert_owner_.get(), N, m * K, send_ids_.get(), send_weights_.get(), send_x_.get(),
                            pair_slot_.get()};
  cuda::moe_dispatch(h_.get(), expert_ids_.get(), route_weights_.get(), m, K, H, ex, st);
  // Every destination gets m * K slots from this rank; rank r sends its share's size times K.
  std::vector<size_t> sent(N, static_cast<size_t>(m) * K), received(N), sent_h(N), received_h(N);
  size_t total = 0;
  for (int r = 0; r < N; ++r) {
    received[r] = static_cast<size_t>(split_range(M, N, r).size()) * K;
    total += received[r];
    sent_h[r] = sent[r] * H;
    received_h[r] = received[r] * H;
  }
  // x first: moe_gate_up reads it two launches later at the earliest (moe.h), the ids and weights after.
  comm_->all_to_all_v(send_x_.get(), sent_h, recv_x_.get(), received_h, DType::F32);
  comm_->all_to_all_v(send_ids_.get(), sent, recv_ids_.get(), received, DType::I32);
  comm_->all_to_all_v(send_weights_.get(), sent, recv_weights_.get(), received, DType::F32);
  // The owner computes each received pair whole (bias included) and weights it; empty slots give zeros.
  run_experts(l, recv_x_.get(), static_cast<int>(total), 1, recv_ids_.get(), recv_weights_.get(), 1.0f, moe_out_.get());
  // Back in the layout they were sent in (send_x_ is free again), then into this rank's tokens.
  comm_->all_to_all_v(moe_out_.get(), received_h, send_x_.get(), sent_h, DType::F32);
  cuda::moe_combine(send_x_.get(), m, K, H, x_mine, st, /*accumulate=*/true, pair_slot_.get());
  comm_->all_gather_v(x_mine, rows, DType::F32, x_.get());
}

}  // namespace tachyon
