// The cuda::qkv_prepare parameters of one attention layer, the same for the target step and the drafter:
// QK-norm when the model has it, the layer's RoPE, the model's value scale. The caller gives the rows.
#pragma once

#include <cstdint>

#include "kernels/cuda/device_weight.h"
#include "kernels/cuda/qkv_prepare.h"
#include "model/config.h"
#include "runtime/target_weights.h"

namespace tachyon {

inline cuda::QkvPrepareParams qkv_prepare_params(const ModelConfig& c, int layer,
                                                 const AttentionWeightsT<cuda::DeviceWeight>& w, const float* inv_freq,
                                                 int rows, int q_heads, int kv_heads, const int32_t* positions,
                                                 const int32_t* row_slot) {
  const LayerConfig& lc = c.layers[layer];
  cuda::QkvPrepareParams p;
  p.m = rows;
  p.q_heads = q_heads;
  p.kv_heads = kv_heads;
  p.q_norm = c.qk_norm ? w.q_norm.f32() : nullptr;
  p.k_norm = c.qk_norm ? w.k_norm.f32() : nullptr;
  p.eps = c.rms_norm_eps;
  p.rotary_dim = lc.rope.rotary_dim;
  p.positions = positions;
  p.inv_freq = inv_freq;
  p.attention_factor = static_cast<float>(lc.rope.attention_factor);
  p.value_scale = c.value_scale;
  p.row_slot = row_slot;
  return p;
}

}  // namespace tachyon
