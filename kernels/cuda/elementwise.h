// Small ops of the step on the GPU: norms, RoPE, embedding gather, residual add, per-row arg-max.
// CPU twins: kernels/cpu/rmsnorm, rope, embedding; sampler.cpp's arg-max.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cpu/swiglu.h"
#include "kernels/cuda/device_weight.h"

namespace tachyon::cuda {

// y[rows, dim] = x / rms(x) * w; y may alias x. Also the per-head QK-norm (rows = tokens * heads).
void rmsnorm(const float* x, const float* w, int rows, int dim, float eps, float* y, cudaStream_t stream);

// The residual add and the next norm in one pass: x += delta, then y = x / rms(x) * w (y may alias x;
// delta may not). Same results as add() then rmsnorm().
void add_rmsnorm(const float* delta, float* x, const float* w, int rows, int dim, float eps, float* y, cudaStream_t stream);

// The same with the MoE's combine in front: x += the sum of the k slot rows of slots [rows, k, dim] (from
// zero, in slot order), then the norm. Same results as moe_combine (stored) then add_rmsnorm: one launch
// fewer where no all-reduce sits between them (one rank). With `delta` [rows, dim], x + delta comes first:
// the residual add that add_rmsnorm_router (norm_router.h) leaves to its caller, with add_rmsnorm's bits.
void combine_add_rmsnorm(const float* slots, int k, float* x, const float* w, int rows, int dim, float eps, float* y,
                         cudaStream_t stream, const float* delta = nullptr);

// In place on x [rows, heads, head_dim]; positions [rows] and inv_freq [rotary_dim/2] on the device.
void rope(float* x, int rows, int heads, int head_dim, int rotary_dim, const int32_t* positions, const float* inv_freq,
          float attention_factor, cudaStream_t stream);

// out[n, table.cols] = rows of the table's vocabulary slice, zeros for ids outside it.
void embed(const int32_t* ids, int n, const DeviceMatrix& table, int vocab_begin, float* out, cudaStream_t stream);

// y[i] += x[i] (* scale)
void add(const float* x, float* y, size_t n, float scale, cudaStream_t stream);

// x[i] *= s
void scale(float* x, size_t n, float s, cudaStream_t stream);

// out[i] = act(gate[i], up[i]) over n elements (kernels/cpu/swiglu: both kinds).
void swiglu(const float* gate, const float* up, size_t n, const cpu::SwigluParams& p, float* out, cudaStream_t stream);

// dst[i, :] = src[rows[i], :] for i < n, rows of `width` floats; rows on the device.
void gather_rows(const float* src, const int32_t* rows, int n, int width, float* dst, cudaStream_t stream);

// Per row of logits [n, v]: the largest value and the lowest index holding it (global id = vocab_begin + i).
struct ArgmaxCandidate {
  float value;
  int32_t id;
};
void row_argmax(const float* logits, int n, int v, int vocab_begin, ArgmaxCandidate* out, cudaStream_t stream);

}  // namespace tachyon::cuda
