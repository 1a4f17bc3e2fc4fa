// The KV cache of one rank on the CPU backend: for every layer and sequence slot, keys
// [capacity, kv_heads_local, head_dim] and values [capacity, kv_heads_local, v_head_dim], row = position.
// Rolling back (rejected draft tokens) costs nothing: a sequence's length lives with the scheduler, and
// rows past it are simply overwritten by the next step.
#pragma once

#include <cstddef>
#include <vector>

#include "model/config.h"
#include "runtime/shard_plan.h"

namespace tachyon {

class CpuKvCache {
 public:
  CpuKvCache(const ModelConfig& config, const ShardPlan& plan, int num_slots, int capacity);

  int capacity() const { return capacity_; }
  int num_slots() const { return num_slots_; }
  float* keys(int layer, int slot);
  float* values(int layer, int slot);
  size_t bytes() const;

 private:
  int num_slots_, capacity_;
  struct Layer {
    size_t k_row = 0, v_row = 0;  // floats per position
    std::vector<float> k, v;
  };
  std::vector<Layer> layers_;
};

}  // namespace tachyon
