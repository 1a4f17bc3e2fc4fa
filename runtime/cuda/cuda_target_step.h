// The target step on one GPU per rank: the same layer sequence as CpuTargetStep (the reference), built
// from kernels/cuda and NCCL collectives on one stream. Weights stream from the checkpoint straight to
// the GPU (one tensor in host memory at a time). The whole step is captured once per batch shape
// (tokens, sequences, logit rows, longest chunk) as a CUDA graph, the second time the shape comes (a shape
// seen once, such as most steps that carry a new request's prefill chunk, runs directly: graph_cache.h), and
// replayed: the step's metadata lives in fixed device buffers that every kernel reads, so a replay only
// needs them refreshed.
#pragma once

#include <cuda_runtime.h>

#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include "comm/cuda/nccl_collectives.h"
#include "comm/cuda/peer_buffers.h"
#include "kernels/cuda/attention.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/device_weight.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/graph_cache.h"
#include "kernels/cuda/moe.h"
#include "runtime/step.h"
#include "runtime/target_weights.h"

namespace tachyon {

using DeviceTargetWeights = TargetWeightsT<cuda::DeviceWeight>;

struct CudaStepLimits {
  int num_slots = 8;         // concurrent sequences
  int capacity = 4096;       // positions per sequence
  int max_tokens = 2048;     // tokens per step
  int max_logit_rows = 256;  // rows that want logits per step
  bool use_graphs = true;
  // One rank, MoE layers: the residual add, the norm and the router's linear in one launch
  // (kernels/cuda/norm_router.h); off: add_rmsnorm, then the router's linear.
  bool fuse_norm_router = true;
  // Several ranks under tp, MoE layers: the combine of the expert outputs inside the all-reduce's kernel
  // (the fused peer all-reduce, or combine_add_rmsnorm where one process holds the step); off: moe_combine,
  // then the all-reduce + add + norm.
  bool fuse_combine = true;
  // One rank, steps of one token, MoE layers: the combine + add + norm after the experts run by moe_down's last CTA
  // (moe.h's moe_down_tail) instead of a launch of its own.
  bool fuse_down_tail = true;
};

class CudaTargetStep final : public TargetStep {
 public:
  CudaTargetStep(const ModelConfig& config, ShardPlan plan, DeviceTargetWeights weights, comm::NcclComm& nccl,
                 const CudaStepLimits& limits, std::vector<int> tap_layers = {});
  ~CudaTargetStep() override;

  const ShardPlan& plan() const override { return plan_; }
  int capacity() const override { return limits_.capacity; }
  int num_slots() const override { return limits_.num_slots; }
  void run(const StepBatch& batch, StepOutput& out) override;

  // For benchmarks, whose roofline counts each touched expert once: runs `batch` once outside any CUDA
  // graph (writing its KV rows, as run() would) and returns, per layer, how many of this rank's experts
  // its tokens touched (0 for dense layers). Captured graphs never contain the counting copies.
  std::vector<int> count_active_experts(const StepBatch& batch);

  cudaStream_t stream() const { return stream_.get(); }
  size_t weight_bytes() const;
  size_t kv_cache_bytes() const;
  size_t graphs() const { return graphs_.size(); }
  // Whether the layers' all-reduces take the fused peer all-reduce (kernels/cuda/peer_reduce.h).
  bool peer_all_reduce() const { return peers_ && peers_->available(); }
  // moe_down launches enqueued so far that ran the combine + add + norm (CudaStepLimits::fuse_down_tail): for tests,
  // that the path was taken.
  int down_tail_launches() const { return down_tail_launches_; }
  // The fused peer all-reduce's buffers (bench step times the kernel alone on them); null where the step
  // all-reduces through NCCL.
  const comm::PeerBuffers* peer_buffers() const { return peer_all_reduce() ? peers_.get() : nullptr; }

 private:
  struct Shape {
    int tokens, seqs, logit_rows, max_count;
    int pieces;  // attention calls' sequences: chunks split into pieces of at most kMaxQueriesPerCall
    auto key() const { return std::tuple(tokens, seqs, logit_rows, max_count, pieces); }
  };
  size_t max_attention_pieces() const;
  static int attention_pieces(const StepBatch& batch);
  Shape checked_shape(const StepBatch& batch) const;
  void upload_metadata(const StepBatch& batch, const Shape& shape);
  void forward(const Shape& shape);  // enqueues the whole step on stream_
  void attention_block(int layer, const Shape& s, float* partial);
  void dense_mlp(int layer, const Shape& s, float* partial);
  // Tokens replicated on every rank. partial = null leaves the weighted expert outputs in moe_out_ [tokens,
  // top_k, hidden] for combine_add_rmsnorm (one rank: no all-reduce between the combine and the residual);
  // returns whether moe_down also ran `tail` (the combine + add + norm: CudaStepLimits::fuse_down_tail).
  bool moe_block(int layer, const Shape& s, float* partial, bool logits_ready = false,
                const cuda::MoeDownTail* tail = nullptr);
  void moe_ep_block(int layer, const Shape& s);  // ep over several ranks: token shares, all-to-all (updates x_)
  // Router logits (unless logits_ready: add_rmsnorm_router made them) and top-k into expert_ids_, route_weights_.
  void route(int layer, const float* h, int m, bool logits_ready = false);
  // out [m, k, hidden]; with a tail, where it fits, moe_down also runs it: returns whether it did.
  bool run_experts(int layer, const float* x, int m, int k, const int32_t* ids, const float* weights, float bias_scale,
                  float* out, const cuda::MoeDownTail* tail = nullptr);
  void copy_taps(int layer, const Shape& s);
  // partial_ summed over the ranks, added to x_, and x_ normed with `norm` into h_ (rows tokens). With k > 0
  // this rank's partial is the sum of moe_out_'s k slot rows a token (only where reduce_sums_slots said so).
  void reduce_add_norm(const float* norm, int rows, int k = 0);
  // Whether reduce_add_norm can sum a MoE layer's slot rows itself for a step of `rows` tokens.
  bool reduce_sums_slots(int rows) const;

  const ModelConfig& config_;
  ShardPlan plan_;
  DeviceTargetWeights w_;
  comm::NcclComm& nccl_;
  CudaStepLimits limits_;
  std::vector<int> tap_layers_;
  // MoE layers under ep with several ranks follow the CPU step's plan: each rank keeps a share of the
  // tokens and exchanges them with the experts' owners (all-to-all), rather than replicating them.
  bool ep_exchange_ = false;
  cuda::Stream stream_;
  std::unique_ptr<comm::NcclCollectives> comm_;
  std::unique_ptr<comm::PeerBuffers> peers_;  // several ranks on one node: the fused peer all-reduce

  // Per layer: KV cache, RoPE frequencies, query head -> local KV head.
  std::vector<cuda::DeviceBuffer<__nv_bfloat16>> k_cache_, v_cache_;
  std::vector<cuda::DeviceBuffer<float>> inv_freq_;
  std::vector<cuda::DeviceBuffer<int32_t>> kv_head_of_;

  // Step metadata (refreshed before every launch or replay) and its pinned host staging.
  cuda::DeviceBuffer<int32_t> meta_;  // tokens, positions, row slots, seq slot/start/count/first_row, logit rows
  int32_t* meta_host_ = nullptr;
  size_t meta_words_ = 0;
  // seq_*: attention's pieces (the step's chunks split into at most kMaxQueriesPerCall queries each).
  int32_t *tokens_, *positions_, *row_slot_, *seq_slot_, *seq_start_, *seq_count_, *seq_first_row_, *logit_rows_;

  // Activations and scratch, sized for limits_.
  cuda::DeviceBuffer<float> x_, h_, partial_, q_, k_, v_, attn_, gate_, up_, act_;
  cuda::AttentionWorkspace attn_workspace_;  // small batches: keys split over several clusters
  cuda::DeviceBuffer<float> router_logits_, route_weights_, moe_act_, moe_out_, selected_, logits_, taps_;
  cuda::DeviceBuffer<int32_t> expert_ids_, routing_i32_;
  // The ep exchange (ep_exchange_ only): expert owners, this rank's token share, send and receive blocks.
  cuda::DeviceBuffer<int32_t> expert_owner_, send_ids_, pair_slot_, recv_ids_;
  cuda::DeviceBuffer<float> xl_, send_weights_, send_x_, recv_weights_, recv_x_;
  cuda::DeviceBuffer<cuda::ArgmaxCandidate> argmax_;
  cuda::MoeRouting routing_;
  float* logits_host_ = nullptr;  // pinned
  cuda::ArgmaxCandidate* argmax_host_ = nullptr;  // pinned

  cuda::GraphCache<std::tuple<int, int, int, int, int>> graphs_;
  cuda::DeviceBuffer<int32_t> active_by_layer_;  // set only inside count_active_experts
  bool count_active_ = false;
  int down_tail_launches_ = 0;
  cuda::DeviceBuffer<uint32_t> tail_counter_;  // MoeDownTail::counter (zero between launches)
};

// Loads this rank's shard onto its GPU (cudaSetDevice done by the caller).
DeviceTargetWeights load_device_weights(const CheckpointReader& reader, const ModelConfig& config, const ShardPlan& plan,
                                        const LoadProgress& progress = {});

}  // namespace tachyon
