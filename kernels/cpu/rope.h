// Rotary position embedding, "rotate half" style (Qwen3, gpt-oss, HF's default): within the first
// rotary_dim dims of each head, dim i pairs with dim i + rotary_dim/2:
//   x'[i]        = x[i] * cos(p * f_i) - x[i + r/2] * sin(p * f_i)
//   x'[i + r/2]  = x[i + r/2] * cos(p * f_i) + x[i] * sin(p * f_i)
// both cos and sin multiplied by `attention_factor` (YaRN); dims >= rotary_dim pass through.
// Shapes: x [rows, heads, head_dim] in place; positions [rows]; inv_freq [rotary_dim / 2].
#pragma once

#include <cstddef>
#include <cstdint>

namespace tachyon::cpu {

void apply_rope(float* x, size_t rows, int heads, int head_dim, int rotary_dim, const int32_t* positions,
                const float* inv_freq, float attention_factor);

}  // namespace tachyon::cpu
