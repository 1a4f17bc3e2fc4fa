// The roofline of one target step on one rank (DESIGN.md section 6): the bytes that must move (every
// dense weight once, every expert the step's tokens touch once, the KV cache the step's queries read),
// over the device's copy bandwidth measured in the same run, plus a communication floor. A step cannot
// be faster on a memory-bound GPU; `tachyon bench step` reports its time as a multiple of this.
#pragma once

#include <vector>

#include "model/config.h"
#include "runtime/shard_plan.h"
#include "runtime/weight_specs.h"

namespace tachyon {

// A decode or verify step: `seqs` sequences of `tokens_per_seq` tokens each, appended after `context`
// positions already in the KV cache.
struct StepShape {
  int seqs = 1;
  int tokens_per_seq = 1;
  int context = 0;
  int tokens() const { return seqs * tokens_per_seq; }
};

struct StepBytes {
  double dense = 0;    // attention, dense MLPs, norms, routers, LM head: all of them; embedding rows read
  double experts = 0;  // the touched experts' weights (and biases), each once
  double kv = 0;       // KV cache rows read (BF16), the step's own included
  double total() const { return dense + experts + kv; }
};

// Expected number of the experts [0, local_experts) that `tokens` tokens touch when each token picks
// top_k distinct experts of num_experts uniformly at random (random weights route about so):
// local_experts * (1 - (1 - top_k / num_experts)^tokens).
double expected_distinct_experts(int local_experts, int num_experts, int top_k, int tokens);

// Bytes of one local expert (its gate, up and down slices and biases) in layer `layer`; 0 for dense layers.
double expert_bytes(const TargetWeightSpecs& specs, int layer);

// `touched_experts[l]`: distinct local experts touched in layer l (counted on the device, or expected).
StepBytes step_bytes(const ModelConfig& config, const ShardPlan& plan, const TargetWeightSpecs& specs,
                     const StepShape& shape, const std::vector<double>& touched_experts);

// Microseconds: bytes over the copy bandwidth (GB/s, read + write counted, as the kernel rows use it),
// plus the communication floor.
double roofline_us(double bytes, double copy_gbs, double comm_us);

}  // namespace tachyon
