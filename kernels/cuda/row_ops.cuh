// Device helpers shared by the small ops (elementwise.cu), the fused per-head kernel (qkv_prepare.cu) and
// the fused peer all-reduce + norm (peer_add_rmsnorm.cu), so that they give the same bits: a block's and a
// warp's sums, one warp's RMS of a row, and one RoPE pair.
#pragma once

#include <cstdint>

namespace tachyon::cuda {

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Sum of v over the block (blockDim.x a multiple of 32, at most 1024), the same on every thread; the
// warps' partial sums are added in warp order, so the result is deterministic. `scratch` holds 32 floats;
// the closing barrier lets the caller reuse it at once. Every thread of the block must call it.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
  v = warp_sum(v);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float total = 0.0f;
  for (int i = 0; i < warps; ++i) total += scratch[i];
  __syncthreads();
  return total;
}

// Hidden-width rows held in registers by one block (the block norms of elementwise.cu and the fused peer
// all-reduce + norm): thread t < T holds float4s t, t + T, ... of the row, kRowVec of them, where T =
// row_block_threads(dim) (the functions below take T as `threads`; threads past it hold zeros, so a block
// may be wider than its row and still reduce the row in the same order, giving the same bits).
constexpr int kRowVec = 4;
constexpr int kRowMaxThreads = 1024;
constexpr int kRowBlockMaxDim = kRowMaxThreads * 4 * kRowVec;

// Threads of a block holding a row of dim floats (dim <= kRowBlockMaxDim): a multiple of 32.
__host__ __device__ inline int row_block_threads(int dim) {
  const int per_thread = 4 * kRowVec;
  const int threads = (dim + per_thread - 1) / per_thread;
  return threads >= kRowMaxThreads ? kRowMaxThreads : threads < 32 ? 32 : (threads + 31) / 32 * 32;
}

// Fills a row held in registers from load(i), the row's float4 number i < d4 (zeros past the row; load may
// also write it back, as a residual add does), and returns this thread's sum of its squares for
// store_normed_row.
// `vt` is the thread of the row's layout this thread plays (a CTA holding part of a row: see
// combine_add_rmsnorm's cluster kernel); by default its own.
template <typename Load>
__device__ __forceinline__ float load_row(float4 (&v)[kRowVec], int d4, int threads, Load load, int vt) {
  float s = 0.0f;
#pragma unroll
  for (int j = 0; j < kRowVec; ++j) {
    const int i = vt + j * threads;
    v[j] = make_float4(0.f, 0.f, 0.f, 0.f);
    if (vt < threads && i < d4) {
      v[j] = load(i);
      s += v[j].x * v[j].x + v[j].y * v[j].y + v[j].z * v[j].z + v[j].w * v[j].w;
    }
  }
  return s;
}
template <typename Load>
__device__ __forceinline__ float load_row(float4 (&v)[kRowVec], int d4, int threads, Load load) {
  return load_row(v, d4, threads, load, static_cast<int>(threadIdx.x));
}

// The norm weight w[0, dim) in the layout of a row held in registers (zeros past the row). Kernels load
// it before pdl_enter() (a weight: launch.cuh), so that its latency overlaps the kernel before instead of
// following the row's reduction.
__device__ __forceinline__ void load_row_weight(const float* w, int dim, int threads, float4 (&g)[kRowVec], int vt) {
  const int d4 = dim / 4;
#pragma unroll
  for (int j = 0; j < kRowVec; ++j) {
    const int i = vt + j * threads;
    g[j] = vt < threads && i < d4 ? reinterpret_cast<const float4*>(w)[i] : make_float4(0.f, 0.f, 0.f, 0.f);
  }
}
__device__ __forceinline__ void load_row_weight(const float* w, int dim, int threads, float4 (&g)[kRowVec]) {
  load_row_weight(w, dim, threads, g, static_cast<int>(threadIdx.x));
}

// 1 / rms of a row from the sum of its squares (every norm of the row layout: the same bits).
__device__ __forceinline__ float row_inv_rms(float sum_squares, int dim, float eps) {
  return rsqrtf(sum_squares / dim + eps);
}

// y_row's float4s of (virtual) thread vt, [lo4, hi4) only: v / rms * g.
__device__ __forceinline__ void store_scaled_row(const float4 (&v)[kRowVec], float inv, int dim, int threads,
                                                 const float4 (&g)[kRowVec], float* y_row, int vt, int lo4, int hi4) {
  const int d4 = dim / 4;
#pragma unroll
  for (int j = 0; j < kRowVec; ++j) {
    const int i = vt + j * threads;
    if (vt < threads && i < d4 && i >= lo4 && i < hi4)
      reinterpret_cast<float4*>(y_row)[i] =
          make_float4(v[j].x * inv * g[j].x, v[j].y * inv * g[j].y, v[j].z * inv * g[j].z, v[j].w * inv * g[j].w);
  }
}

// y_row = v / rms(row) * g for a row held in registers (v as above, zeros past the row; s = this thread's
// sum of v's squares; g from load_row_weight). Every thread of the block must call it; `scratch` holds 32
// floats. Only the row's float4s [lo4, hi4) are written (several CTAs that each hold the whole row may
// share its writing).
__device__ __forceinline__ void store_normed_row(const float4 (&v)[kRowVec], float s, int dim, int threads, float eps,
                                                 const float4 (&g)[kRowVec], float* y_row, float* scratch, int lo4 = 0,
                                                 int hi4 = kRowBlockMaxDim / 4) {
  const float inv = row_inv_rms(block_sum(s, scratch), dim, eps);
  store_scaled_row(v, inv, dim, threads, g, y_row, static_cast<int>(threadIdx.x), lo4, hi4);
}

// The MoE's slot rows: element group i (a float2 or a float4) of the sum of row r's k slot rows, slots [rows,
// k, per_row groups] (the weighted expert outputs), from zero in slot order as moe_combine sums them (the same
// bits), all k loads issued before the first add. k <= kMaxSlotRows (the top-k of the supported models).
// kThroughL2: the loads read the L2 (ld.cg), never a stale L1 line: for rows that other CTAs of the same launch wrote
// (moe_one_token.cuh's one_token_down_tail).
constexpr int kMaxSlotRows = 8;

__device__ __forceinline__ float2 add_groups(float2 a, float2 b) { return make_float2(a.x + b.x, a.y + b.y); }
__device__ __forceinline__ float4 add_groups(float4 a, float4 b) {
  return make_float4(a.x + b.x, a.y + b.y, a.z + b.z, a.w + b.w);
}

template <typename V, bool kThroughL2 = false>
__device__ __forceinline__ V slot_sum(const float* slots, int k, int r, int per_row, int i) {
  const V* rows = reinterpret_cast<const V*>(slots);
  V got[kMaxSlotRows];
#pragma unroll
  for (int j = 0; j < kMaxSlotRows; ++j)
    if (j < k) {
      const V* at = rows + (static_cast<size_t>(r) * k + j) * per_row + i;
      if constexpr (kThroughL2) got[j] = __ldcg(at);
      else got[j] = *at;
    }
  V sum{};  // zeros
#pragma unroll
  for (int j = 0; j < kMaxSlotRows; ++j)
    if (j < k) sum = add_groups(sum, got[j]);
  return sum;
}

// 1 / rms(x[0, dim)) + eps inside, summed by one warp: lane l adds elements l, l + 32, ... in order.
__device__ __forceinline__ float warp_inv_rms(const float* x, int dim, float eps) {
  float s = 0.0f;
  for (int i = threadIdx.x % 32; i < dim; i += 32) s += x[i] * x[i];
  return rsqrtf(warp_sum(s) / dim + eps);
}

// RoPE's rotation of pair d at `position`: the FP32 angle position * inv_freq as the references form it,
// then an accurate (double) sincos of it, scaled by YaRN's attention factor. x = cos, y = sin.
__device__ __forceinline__ float2 rope_cos_sin(int position, float inv_freq, float attention_factor) {
  const float angle = static_cast<float>(position) * inv_freq;
  double s, c;
  sincos(static_cast<double>(angle), &s, &c);
  return make_float2(static_cast<float>(c) * attention_factor, static_cast<float>(s) * attention_factor);
}

// Rotates the pair (a, b) = (x[d], x[d + rotary_dim / 2]) by rope_cos_sin's rotation r. Every product
// and sum rounded on its own (no FMA contraction, whose choice depends on the surrounding code): the
// kernels that rotate (rope, qkv_prepare) then agree bit for bit, as the CPU reference's order does.
__device__ __forceinline__ void rope_apply(float& a, float& b, float2 r) {
  const float ra = __fsub_rn(__fmul_rn(a, r.x), __fmul_rn(b, r.y)), rb = __fadd_rn(__fmul_rn(b, r.x), __fmul_rn(a, r.y));
  a = ra;
  b = rb;
}

__device__ __forceinline__ void rope_rotate(float& a, float& b, int position, float inv_freq, float attention_factor) {
  rope_apply(a, b, rope_cos_sin(position, inv_freq, attention_factor));
}

}  // namespace tachyon::cuda
