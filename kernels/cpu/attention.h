// Scaled dot-product attention of a block of queries over a sequence's keys and values.
//
// Shapes: q [n, num_q_heads, head_dim] at positions q_pos[n]; k [n_keys, num_kv_heads, head_dim] and
// v [n_keys, num_kv_heads, v_head_dim], where key row j sits at position j (the KV cache of one sequence);
// out [n, num_q_heads, v_head_dim]. Query head h reads KV head kv_head_of[h] (grouped-query attention).
// Key j is visible to a query at position p when (!causal || j <= p) and (window == 0 || j > p - window).
// With sinks, head h's softmax gets one more logit sinks[h] that takes probability mass but has no value.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tachyon::cpu {

struct AttentionShape {
  int num_q_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  int v_head_dim = 0;
};

struct AttentionMask {
  bool causal = true;
  int window = 0;  // 0: no sliding window
};

void attention(const float* q, size_t n, const int32_t* q_pos, const float* k, const float* v, size_t n_keys,
               const int* kv_head_of, const AttentionShape& shape, float scale, const AttentionMask& mask,
               const float* sinks, float* out);

}  // namespace tachyon::cpu
