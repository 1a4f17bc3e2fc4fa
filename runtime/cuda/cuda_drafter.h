// The DFlash drafter on rank 0's GPU: CpuDrafter's forward pass (runtime/cpu_drafter.h is the reference
// and documents the math) built from kernels/cuda, batched over requests, with the draft KV cache on the
// GPU. Weights are uploaded once in their stored formats, the target's whole embedding and LM head
// included (on a multi-rank run the target step holds only a vocabulary slice of them, so the drafter
// loads its own full copy from the target checkpoint, as CpuDrafter::load does).
//
// add_context runs eagerly, in pieces of at most kContextPiece rows (any number of rows; vLLM likewise
// keeps the context K/V outside its graphs), without waiting for the GPU. Its taps are host rows, uploaded
// through pinned staging; or, when the drafter shares the target step's stream (CudaDrafterOptions::
// stream, as `tachyon generate` builds it), the step's own device rows, gathered on the GPU: the target's
// features then never leave the device, and the stream's order keeps them intact until they are read. draft() refreshes fixed
// device buffers with the batch's metadata and replays a CUDA graph captured once per batch shape
// (block rows, requests, longest block) the second time it comes, as CudaTargetStep does.
//
// Where the GPU differs from the CPU reference (tests/gpu/test_cuda_drafter.cpp bounds the effect): the
// KV cache is BF16 (the target's is too); projections of more than kLinearFp32MaxM rows multiply
// BF16-rounded activations on the tensor cores; attention feeds q and the softmax weights to the tensor
// cores as BF16. Accumulation is FP32 everywhere.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <map>
#include <memory>
#include <optional>
#include <tuple>
#include <vector>

#include "kernels/cuda/attention.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/device_weight.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/graph_cache.h"
#include "model/checkpoint.h"
#include "model/drafter_config.h"
#include "runtime/draft_slots.h"
#include "runtime/drafter.h"
#include "runtime/drafter_weights.h"
#include "runtime/shard_plan.h"

namespace tachyon {

using DeviceDrafterWeights = DrafterWeightsT<cuda::DeviceWeight>;

struct CudaDrafterOptions {
  int num_slots = 8;
  int capacity = 4096 + kMaxDraftBlock;  // positions per slot: context plus one block of scratch
  // Copy every draft's logits to the host (Draft::logits; tests compare them). The generator needs only
  // the tokens, and the logits are B - 1 rows of the whole vocabulary (4 MB a draft at 152k).
  bool return_logits = true;
  bool use_graphs = true;
  // The target step's stream, to share (borrowed: the step outlives the drafter); add_context then takes
  // the step's device taps (reads_device_taps). Null: a stream of the drafter's own, host taps.
  cudaStream_t stream = nullptr;
};

class CudaDrafter final : public Drafter {
 public:
  // `config` must have been validated against the target (validate_drafter_for_target). The current
  // device is the drafter's.
  CudaDrafter(DrafterConfig config, DeviceDrafterWeights weights, const CudaDrafterOptions& options);
  ~CudaDrafter() override;
  CudaDrafter(const CudaDrafter&) = delete;
  CudaDrafter& operator=(const CudaDrafter&) = delete;
  // Reads and validates both checkpoints (the target's only for its config, embedding and LM head),
  // uploading tensor by tensor.
  static std::unique_ptr<CudaDrafter> load(const CheckpointReader& drafter, const CheckpointReader& target,
                                           const CudaDrafterOptions& options);

  const DrafterConfig& config() const { return config_; }
  int context_length(int slot) const { return slots_.length(slot); }
  const std::vector<int>& tap_layers() const override { return config_.target_layer_ids; }
  bool reads_device_taps() const override { return options_.stream != nullptr; }
  void add_context(const std::vector<DraftContext>& chunks) override;
  void rollback(int slot, int length) override { slots_.rollback(slot, length); }
  std::vector<Draft> draft(const std::vector<DraftRequest>& requests) override;

  // For benchmarks: enqueue the last draft's forward pass again on stream() (its graph, or its kernels
  // without graphs), with the same metadata; nothing is copied back.
  void enqueue_last_draft();
  cudaStream_t stream() const { return stream_; }
  size_t weight_bytes() const;
  size_t kv_cache_bytes() const;
  size_t graphs() const { return graphs_.size(); }

  static constexpr int kContextPiece = 128;  // context rows per add_context launch sequence

 private:
  struct Shape {
    int rows, seqs, max_count;
    auto key() const { return std::tuple(rows, seqs, max_count); }
  };
  void context_piece(int rows);         // enqueues one piece of add_context (its taps in ctx_taps_)
  void forward(const Shape& s);         // enqueues the whole draft on stream_
  void attention(int layer, const Shape& s);
  void launch(const Shape& s);          // forward(), through a cached graph when enabled
  cuda::KvCacheView cache_view(int layer);
  // Layer `layer`'s QK-norm, RoPE, value scale and KV write (cuda::qkv_prepare) for `rows` rows with
  // `q_heads` query heads (0: the context's k/v only) at `positions`, into the cache at `slots`.
  void prepare_qkv(int layer, int rows, int q_heads, const int32_t* positions, const int32_t* slots);

  DrafterConfig config_;
  DeviceDrafterWeights w_;
  CudaDrafterOptions options_;
  ShardPlan plan_;  // one rank holding every head: the q -> kv head map
  DraftSlots slots_;
  std::optional<cuda::Stream> own_stream_;  // only when the target step's stream is not shared
  cudaStream_t stream_;                     // every launch and copy of the drafter

  // Per layer: BF16 KV cache [slots, capacity, kv_heads, head_dim], RoPE frequencies, q -> kv head.
  std::vector<cuda::DeviceBuffer<__nv_bfloat16>> k_cache_, v_cache_;
  std::vector<cuda::DeviceBuffer<float>> inv_freq_;
  std::vector<cuda::DeviceBuffer<int32_t>> kv_head_of_;

  // add_context: one piece's taps (host ones staged), positions, slots and, for device taps, each row's
  // place in the step's buffer (pinned staging, then device). The staging is refilled only once the
  // event says the last piece's copies are done.
  cuda::PinnedBuffer<float> ctx_taps_host_;
  cuda::PinnedBuffer<int32_t> ctx_meta_host_;
  cuda::Event ctx_staged_;
  cuda::DeviceBuffer<float> ctx_taps_, ctx_, ctx_k_, ctx_v_;
  cuda::DeviceBuffer<int32_t> ctx_meta_;  // positions [P], slots [P], source rows [P]

  // draft(): metadata in fixed buffers that every kernel (and every captured graph) reads.
  // Layout (words): anchors [S] | row_source [M] | positions [M] | row_slot [M] | seq slot, start, count,
  // first_row [S each] | logit_rows [M], with S = num_slots, M = num_slots * kMaxDraftBlock.
  cuda::PinnedBuffer<int32_t> meta_host_;
  cuda::DeviceBuffer<int32_t> meta_;
  int32_t *anchors_, *row_source_, *positions_, *row_slot_, *seq_slot_, *seq_start_, *seq_count_, *seq_first_row_,
      *logit_rows_;
  // Activations: the block source table [1 + S, H] (row 0 the mask embedding, then each anchor's), the
  // residual x, normed h, attention and MLP scratch, the logit rows and their arg-max.
  cuda::DeviceBuffer<float> table_, x_, h_, y_, q_, k_, v_, attn_, gate_, up_, act_, selected_, logits_;
  cuda::AttentionWorkspace attn_workspace_;  // small batches: keys split over several clusters
  cuda::DeviceBuffer<cuda::ArgmaxCandidate> argmax_;
  cuda::PinnedBuffer<float> logits_host_;
  cuda::PinnedBuffer<cuda::ArgmaxCandidate> argmax_host_;

  Shape last_{0, 0, 0};
  cuda::GraphCache<std::tuple<int, int, int>> graphs_;
};

}  // namespace tachyon
