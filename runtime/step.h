// One step of the target model: a block of tokens for every active sequence, run through all layers
// on every rank at once. Rank 0 builds the StepBatch and broadcasts it (as int32s); each rank runs its
// shard; every rank ends with the logits of its vocabulary slice for the rows that asked for logits.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/shard_plan.h"

namespace tachyon {

struct SequenceChunk {
  int32_t slot = 0;         // KV cache slot of the sequence
  int32_t start = 0;        // position of the chunk's first token
  int32_t count = 0;        // tokens of this sequence in the step
  int32_t logits_from = 0;  // logits wanted for chunk tokens [logits_from, count)
};

struct StepBatch {
  std::vector<SequenceChunk> seqs;
  std::vector<int32_t> tokens;  // all chunks' tokens, in sequence order

  int logit_rows() const;
  std::vector<int32_t> serialize() const;
  static StepBatch deserialize(const std::vector<int32_t>& words);
};

// The largest logit of a row within this rank's vocabulary slice, and its (global) token id.
struct LocalArgmax {
  float value;
  int32_t id;
};

struct StepOutput {
  // Set by the caller: whether it needs the logits on the host (sampling at temperature > 0). A GPU
  // step skips the copy otherwise and provides local_argmax for greedy choices.
  bool want_host_logits = true;
  std::vector<float> logits;          // [logit_rows, vocab slice of this rank], when on the host
  std::vector<LocalArgmax> local_argmax;  // [logit_rows], when the step computed it
  // Whether the caller reads `taps` on the host. A drafter on the step's GPU and stream reads device_taps
  // instead (runtime/drafter.h, Drafter::reads_device_taps), so a GPU step skips the copy back.
  bool want_host_taps = true;
  std::vector<float> taps;            // [tokens, tap layers, hidden]: residual stream after each tapped layer
  // The same rows in the GPU step's memory, valid until its next run (null on the CPU or without taps).
  const float* device_taps = nullptr;
};

class TargetStep {
 public:
  virtual ~TargetStep() = default;
  virtual const ShardPlan& plan() const = 0;
  virtual int capacity() const = 0;   // positions per KV slot
  virtual int num_slots() const = 0;
  virtual void run(const StepBatch& batch, StepOutput& out) = 0;
};

}  // namespace tachyon
