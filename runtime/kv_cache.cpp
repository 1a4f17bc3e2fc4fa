#include "runtime/kv_cache.h"

#include "model/error.h"

namespace tachyon {

CpuKvCache::CpuKvCache(const ModelConfig& c, const ShardPlan& p, int num_slots, int capacity)
    : num_slots_(num_slots), capacity_(capacity) {
  TACHYON_REQUIRE(num_slots > 0 && capacity > 0, "KV cache needs at least one slot and one position");
  for (int l = 0; l < c.num_layers; ++l) {
    Layer layer;
    const size_t kv = static_cast<size_t>(p.attention[l].kv_heads.size());
    layer.k_row = kv * c.head_dim;
    layer.v_row = kv * c.v_head_dim;
    layer.k.assign(layer.k_row * capacity * num_slots, 0.0f);
    layer.v.assign(layer.v_row * capacity * num_slots, 0.0f);
    layers_.push_back(std::move(layer));
  }
}

float* CpuKvCache::keys(int layer, int slot) {
  TACHYON_CHECK(slot >= 0 && slot < num_slots_, "slot {}", slot);
  Layer& l = layers_[layer];
  return l.k.data() + static_cast<size_t>(slot) * capacity_ * l.k_row;
}

float* CpuKvCache::values(int layer, int slot) {
  TACHYON_CHECK(slot >= 0 && slot < num_slots_, "slot {}", slot);
  Layer& l = layers_[layer];
  return l.v.data() + static_cast<size_t>(slot) * capacity_ * l.v_row;
}

size_t CpuKvCache::bytes() const {
  size_t b = 0;
  for (const auto& l : layers_) b += (l.k.size() + l.v.size()) * sizeof(float);
  return b;
}

}  // namespace tachyon
