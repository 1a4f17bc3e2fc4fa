// Attention on the GPU over a paged-by-slot KV cache in BF16, for decode (1 query per sequence) and
// verify blocks (up to 16 queries per sequence), batched over sequences, with GQA, sliding windows and
// sinks. CPU twin: kernels/cpu/attention (the same masking rules: key j visible to the query at
// position p when j <= p (unless non-causal) and, with a window W, j > p - W). Non-causal attention
// (the DFlash drafter's block, whose queries all see the whole block) lets every query of a sequence
// see all of its keys up to start + count - 1.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda/device_buffer.h"

namespace tachyon::cuda {

// One layer's KV cache: k [slots, capacity, kv_heads, head_dim], v [slots, capacity, kv_heads, v_head_dim].
struct KvCacheView {
  __nv_bfloat16* k = nullptr;
  __nv_bfloat16* v = nullptr;
  int capacity = 0;
  int kv_heads = 0;
  int head_dim = 0;
  int v_head_dim = 0;
};

// The sequences of a step (device arrays of num_seqs entries): sequence s has tokens at rows
// [first_row[s], first_row[s] + count[s]) of q, at positions start[s] + i, in KV slot slot[s].
// Queries of one sequence that one attention call takes (a longer causal chunk is given as several
// sequences of consecutive positions; CudaTargetStep does so for prefill).
inline constexpr int kMaxQueriesPerCall = 16;

struct AttentionBatch {
  const int32_t* slot = nullptr;
  const int32_t* start = nullptr;
  const int32_t* count = nullptr;
  const int32_t* first_row = nullptr;
  int num_seqs = 0;
  int max_count = 0;  // largest count (<= kMaxQueriesPerCall), fixed per captured graph
};

// Writes k [m, kv_heads, head_dim] and v [m, kv_heads, v_head_dim] (FP32) into the cache, row r at
// (row_slot[r], row_pos[r]), rounded to BF16 (nearest even). Rows with a negative slot or a position
// outside [0, capacity) are skipped (padding rows).
void kv_write(const float* k, const float* v, const int32_t* row_slot, const int32_t* row_pos, int m,
              const KvCacheView& cache, cudaStream_t stream);

// Scratch that lets a small batch split each sequence's keys over several clusters (one cluster holds
// at most 8 CTAs, too few to stream a long context at batch 1): every cluster leaves its rows' partials
// (max, sum, unnormalised O) here, and the last cluster to finish a row block combines them, in
// cluster order (deterministic); its arrival counters reset themselves. Sized for the current device,
// zeroed once. Calls that may run at the same time (different streams) need one each; without one,
// attention uses one cluster per (sequence, KV head, row block).
class AttentionWorkspace {
 public:
  AttentionWorkspace();
  float* records() { return records_.get(); }
  int32_t* arrivals() { return arrivals_.get(); }
  // Capacity: (row block, cluster) records of up to 64 rows of v_head_dim <= 128, and arrival counters.
  int record_blocks() const;
  int counters() const { return static_cast<int>(arrivals_.size()); }

 private:
  DeviceBuffer<float> records_;
  DeviceBuffer<int32_t> arrivals_;
};

struct AttentionParams {
  int num_q_heads = 0;
  const int32_t* kv_head_of = nullptr;  // device [num_q_heads]: the KV head each query head reads
  float scale = 1.0f;                   // softmax scale, > 0 (scores q.k * scale)
  int window = 0;                       // 0: full attention
  bool causal = true;                   // false: key j <= start + count - 1 is visible to every query
  const float* sinks = nullptr;         // device [num_q_heads] or null
  // Largest number of query heads that share one KV head; 0: ceil(num_q_heads / cache.kv_heads), which
  // holds for the usual mappings (h -> h / group, and one KV head per rank). Fixed per captured graph.
  int max_group = 0;
  // Every key before each sequence's start was written by a copy or by a kernel at least two launches
  // before this one (KV rows of earlier steps; launch.cuh's contract): the kernel then starts streaming
  // those rows before it waits for the kernel before it. False when a step's chunk is split into pieces
  // (a piece's earlier keys are written by the KV write just before).
  bool prefetch_old_keys = false;
  AttentionWorkspace* workspace = nullptr;  // optional: splits small batches over more SMs (above)
};

// How attention() divides a launch (for tests and benchmarks): row blocks of up to 64 (query, head)
// rows per (sequence, KV head), each split over `clusters` clusters of `cluster` CTAs, every CTA a
// contiguous part of the keys; key_groups warps share each 16-row tile. Not tuned: head dims the
// tuned kernel is not built for (a generic kernel runs instead).
struct AttentionSplit {
  bool tuned = false;
  int key_groups = 1, row_blocks = 0, cluster = 1, clusters = 1;
};
AttentionSplit attention_split(const AttentionBatch& batch, const KvCacheView& cache, const AttentionParams& p);

// q [m, num_q_heads, head_dim] -> out [m, num_q_heads, v_head_dim], FP32. Rows of q outside every
// sequence's block are not written. Precision: q and the softmax weights enter the tensor cores as BF16
// (round to nearest even); scores, softmax and accumulation are FP32. Head dims: q/k 64, 128 or 192,
// v 64 or 128; num_q_heads <= 256; deterministic (split-K partials combined in a fixed order).
void attention(const float* q, const AttentionBatch& batch, const KvCacheView& cache, const AttentionParams& p,
               float* out, cudaStream_t stream);

}  // namespace tachyon::cuda
