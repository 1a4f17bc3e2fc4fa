// The DFlash drafter on the CPU backend: the readable reference of the drafter's forward pass
// (reference/dflash.md sections 1, 2 and 8), built from kernels/cpu ops like CpuTargetStep. Rank 0
// runs it; it needs no collectives.
//
// Per sequence slot it keeps a draft KV cache of CONTEXT only: for each committed position j, every
// draft layer's k/v projection of the context feature ctx_j = hidden_norm(fc(concat of the target's
// tapped residual rows at j)), with k_norm and RoPE at j (never through the layer's input_layernorm).
// A draft for an anchor at position p runs the block [anchor, MASK x (B-1)] at positions p..p+B-1
// through every draft layer: queries come from the block only; keys/values are the cached context
// [0, p) followed by the block's own k/v. Inside the block attention is non-causal unless the layer is
// causal (DrafterConfig::causal); a sliding layer sees keys j > q - window. Then the drafter's final
// norm and the TARGET's LM head on block rows 1..B-1 give B-1 logit rows, and their arg-maxes (lowest
// id on ties) are the draft tokens. The block's K/V are never kept: they are written past the context
// (rows p..p+B-1, scratch) and the next add_context overwrites them.
//
// Invariant the caller keeps (DFlash's loop): when drafting at position p, the slot holds context for
// exactly [0, p). After prefill that is the prompt's taps; after a verify with `acc` accepted drafts,
// add the taps of the anchor and the accepted drafts (the first acc + 1 verify rows), never the rest.
#pragma once

#include <cstdint>
#include <vector>

#include "model/checkpoint.h"
#include "model/drafter_config.h"
#include "runtime/draft_slots.h"
#include "runtime/drafter.h"
#include "runtime/drafter_weights.h"
#include "runtime/kv_cache.h"
#include "runtime/shard_plan.h"

namespace tachyon {

class CpuDrafter final : public Drafter {
 public:
  // `config` must have been validated against the target (validate_drafter_for_target). `capacity`:
  // positions per slot, context plus one block of scratch (p + B <= capacity).
  CpuDrafter(DrafterConfig config, DrafterWeights weights, int num_slots, int capacity);
  // Reads and validates both checkpoints (the target's only for its config, embedding and LM head).
  static CpuDrafter load(const CheckpointReader& drafter, const CheckpointReader& target, int num_slots, int capacity);

  const DrafterConfig& config() const { return config_; }
  int num_slots() const { return slots_.num_slots(); }
  int capacity() const { return slots_.capacity(); }
  int context_length(int slot) const { return slots_.length(slot); }

  // Appends context for each chunk (distinct slots or consecutive chunks of one slot, in order).
  const std::vector<int>& tap_layers() const override { return config_.target_layer_ids; }
  void add_context(const std::vector<DraftContext>& chunks) override;
  void add_context(int slot, int start_position, int n, const float* taps);
  // Forgets context positions >= length (length <= the current length).
  void rollback(int slot, int length) override { slots_.rollback(slot, length); }
  // One draft per request (distinct slots), batched through the layers.
  std::vector<Draft> draft(const std::vector<DraftRequest>& requests) override;

 private:
  void attention(int layer, const std::vector<DraftRequest>& reqs, const std::vector<size_t>& first_row,
                 const std::vector<int32_t>& positions, const float* x, float* out);

  DrafterConfig config_;
  DrafterWeights weights_;
  ShardPlan plan_;  // one rank holding every head: the cache layout and the q -> kv head map
  CpuKvCache cache_;
  DraftSlots slots_;                          // context positions held, per slot
  std::vector<std::vector<float>> inv_freq_;  // per draft layer
};

}  // namespace tachyon
