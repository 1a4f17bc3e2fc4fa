// Device helpers shared by the small ops (elementwise.cu) and the fused per-head kernel
// (qkv_prepare.cu), so that the two give the same bits: one warp's RMS of a row, and one RoPE pair.
#pragma once

#include <cstdint>

namespace tachyon::cuda {

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// 1 / rms(x[0, dim)) + eps inside, summed by one warp: lane l adds elements l, l + 32, ... in order.
__device__ __forceinline__ float warp_inv_rms(const float* x, int dim, float eps) {
  float s = 0.0f;
  for (int i = threadIdx.x % 32; i < dim; i += 32) s += x[i] * x[i];
  return rsqrtf(warp_sum(s) / dim + eps);
}

// Rotates the pair (a, b) = (x[d], x[d + rotary_dim / 2]) by position * inv_freq: the FP32 angle as the
// references form it, then an accurate (double) sincos of it, scaled by YaRN's attention factor.
__device__ __forceinline__ void rope_rotate(float& a, float& b, int position, float inv_freq, float attention_factor) {
  const float angle = static_cast<float>(position) * inv_freq;
  double s, c;
  sincos(static_cast<double>(angle), &s, &c);
  const float cs = static_cast<float>(c) * attention_factor, sn = static_cast<float>(s) * attention_factor;
  const float ra = a * cs - b * sn, rb = b * cs + a * sn;
  a = ra;
  b = rb;
}

}  // namespace tachyon::cuda
