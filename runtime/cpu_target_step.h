// The target step on the CPU backend: the readable reference of the whole distributed forward pass,
// built from kernels/cpu ops and the Collectives interface (MPI across ranks, or a single process).
//
// Per layer (x is the residual stream [tokens, hidden], the same on every rank between layers):
//   attention   norm -> q/k/v for this rank's heads -> QK-norm -> RoPE -> KV write -> attention
//               -> o projection (partial sums over this rank's heads)
//   reduce      all-reduce the partial sums; for an MoE layer under `ep`, reduce-scatter instead so
//               that each rank keeps a slice of the tokens (they travel to their experts from there)
//   MLP         dense: intermediate slice, all-reduce. MoE tp: every expert's slice, all-reduce.
//               MoE ep: route local tokens, all-to-all to the experts' owners, compute, all-to-all
//               back, weight and sum, all-gather the token slices.
#pragma once

#include <vector>

#include "comm/collectives.h"
#include "kernels/cpu/router.h"
#include "runtime/kv_cache.h"
#include "runtime/step.h"
#include "runtime/target_weights.h"

namespace tachyon {

class CpuTargetStep final : public TargetStep {
 public:
  CpuTargetStep(const ModelConfig& config, ShardPlan plan, TargetWeights weights, comm::Collectives& comm,
                int num_slots, int capacity, std::vector<int> tap_layers = {});

  const ShardPlan& plan() const override { return plan_; }
  int capacity() const override { return cache_.capacity(); }
  int num_slots() const override { return cache_.num_slots(); }
  void run(const StepBatch& batch, StepOutput& out) override;

  // For comparing another backend with this reference: while set, every run() fills `per_token` with,
  // for each of the step's tokens, the smallest cpu::route_margin over the MoE layers (+inf in a model
  // without MoE). A token whose margin is below the other backend's router error may take other experts.
  void trace_route_margins(std::vector<float>* per_token) { route_margins_ = per_token; }

 private:
  struct Rows;  // per-step token bookkeeping
  void attention(int layer, const StepBatch& batch, const Rows& rows, const float* x, float* partial);
  void dense_mlp(int layer, const float* h, size_t m, float* partial);
  void moe_tp(int layer, const float* h, size_t m, float* partial);
  void moe_ep(int layer, const float* h, size_t m, float* out);
  void expert_outputs(const MoeWeights& w, int local_expert, const float* x, size_t m, float* out);
  void record_route_margins(const float* router_logits, size_t m, const cpu::RouterParams& params);

  const ModelConfig& config_;
  ShardPlan plan_;
  TargetWeights weights_;
  comm::Collectives& comm_;
  CpuKvCache cache_;
  std::vector<int> tap_layers_;
  std::vector<std::vector<float>> inv_freq_;  // per layer
  std::vector<float>* route_margins_ = nullptr;
};

}  // namespace tachyon
