// Which part of the target model a rank owns, for N ranks:
//   attention   query heads split contiguously; a rank keeps the KV heads its query heads read
//               (replicated across ranks when there are fewer KV heads than ranks)
//   dense MLP   the intermediate dimension split (gate/up rows, down columns)
//   vocabulary  embedding and LM head rows split; no rank ever holds all logits
//   MoE, ep     whole experts split across ranks; tokens travel to them (all-to-all)
//   MoE, tp     every expert's intermediate dimension split (in multiples of 32, the MXFP4 block);
//               one all-reduce after the down projection
// Uneven shapes are handled: ranges are balanced and may be empty on some ranks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/config.h"

namespace tachyon {

enum class MoeParallel { Ep, Tp };
std::string_view moe_parallel_name(MoeParallel p);
MoeParallel parse_moe_parallel(std::string_view name);  // "ep" or "tp"
MoeParallel resolve_moe_parallel(std::string_view choice);  // "ep", "tp" or "auto" (the plan for decoding)

struct Range {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
  bool empty() const { return end <= begin; }
  bool contains(int64_t i) const { return i >= begin && i < end; }
};

// Part `index` of `parts` balanced contiguous pieces of [0, total), in units of `align` (the last piece
// takes the remainder when total is not a multiple of align).
Range split_range(int64_t total, int parts, int index, int64_t align = 1);

// Under ep every rank keeps a contiguous share of the step's tokens (split_range) for its MoE layers:
// each share's size times `width`, in rank order (the counts of the reduce-scatter and all-gather).
std::vector<size_t> token_split_counts(size_t tokens, int world, size_t width);

struct AttentionShard {
  Range q_heads;
  Range kv_heads;                   // the KV heads read by q_heads
  std::vector<int> kv_head_of;      // local q head -> local kv head
};

struct ShardPlan {
  int rank = 0;
  int world = 1;
  MoeParallel moe = MoeParallel::Tp;
  std::vector<AttentionShard> attention;  // per layer
  Range vocab;
  Range dense_intermediate;
  Range experts;             // ep: owned experts; tp: all experts
  Range expert_intermediate; // tp: the slice; ep: all of it
  std::vector<Range> experts_of_rank;  // ep: every rank's experts (routing needs the owner of each)

  int owner_of_expert(int expert) const;
};

ShardPlan make_shard_plan(const ModelConfig& config, int rank, int world, MoeParallel moe);

}  // namespace tachyon
