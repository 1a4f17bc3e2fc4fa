// Small ops of the step (see elementwise.h). Each is one launch over rows, FP32 in and out.
#include <algorithm>
#include <cstdint>

#include "kernels/cuda/batch_invariant.h"
#include "kernels/cuda/cluster_row.cuh"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/dequant.cuh"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/moe.h"
#include "kernels/cuda/row_ops.cuh"
#include "model/fp8.h"

namespace tachyon::cuda {

namespace {

// Hidden-width rows (dim 1k-16k, a multiple of 4; few rows): one block per row, so that the row's loads
// are spread over the whole block and all in flight at once (one warp per row made a decode step's
// norms latency-bound: 64 dependent trips through the memory system for hidden 2048). The row is read
// once into registers (row_ops.cuh's kRowVec float4 per thread), optionally after adding a residual delta
// (x += delta, written back), then scaled. y may alias x. The delta is one row (kDelta == Row) or the sum
// of k slot rows, delta [rows, k, dim] (kDelta == Slots: the MoE's weighted expert outputs, summed from
// zero in slot order as moe_combine does; with first_delta, x + first_delta is added before them).

enum class Delta { None, Row, Slots };
// Slots: k <= 8 (top-k of the supported models) and the row's delta within the default 48 KB of dynamic
// shared memory (hidden <= 12288); else moe_combine and rmsnorm, two launches (three with a delta: add first).
constexpr int kMaxCombineSlots = kMaxSlotRows;
constexpr size_t kCombineMaxSmem = 48 * 1024;
// combine_add_rmsnorm_cluster_kernel: rows of more slot bytes than this, at most this many rows.
constexpr size_t kCombineOneCtaBytes = 64 * 1024;
constexpr int kCombineClusterMaxRows = 16;

template <Delta kDelta>
__global__ void __launch_bounds__(kRowMaxThreads)
    rmsnorm_block_kernel(const float* delta, int k, float* x, const float* w, int dim, float eps, float* y,
                         const float* first_delta) {
  const int threads = row_block_threads(dim), d4 = dim / 4;  // the row's layout (row_ops.cuh)
  float4 g[kRowVec];
  load_row_weight(w, dim, threads, g);
  pdl_enter();  // launch.cuh: before any access to activations
  __shared__ float scratch[32];
  extern __shared__ float4 new_x[];  // Slots: the row's new x [d4]
  const size_t base = static_cast<size_t>(blockIdx.x) * dim;
  if constexpr (kDelta == Delta::Slots) {
    // Every thread of the (wider) block makes float4s of the new row: x (+ first_delta) + the sum of the k
    // slots (in slot order from zero, as moe_combine sums them), all its loads issued before the first add
    // (one trip through the memory system); the row's layout then reads them from shared memory.
    const float4* slots = reinterpret_cast<const float4*>(delta + static_cast<size_t>(blockIdx.x) * k * dim);
    for (int i = threadIdx.x; i < d4; i += blockDim.x) {
      float4 v[kMaxCombineSlots];
#pragma unroll
      for (int q = 0; q < kMaxCombineSlots; ++q)
        v[q] = q < k ? slots[static_cast<size_t>(q) * d4 + i] : make_float4(0.f, 0.f, 0.f, 0.f);
      float4 r = reinterpret_cast<const float4*>(x + base)[i];
      const float4 d = first_delta ? reinterpret_cast<const float4*>(first_delta + base)[i] : make_float4(0.f, 0.f, 0.f, 0.f);
      float4 a = make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll
      for (int q = 0; q < kMaxCombineSlots; ++q)
        if (q < k) a.x += v[q].x, a.y += v[q].y, a.z += v[q].z, a.w += v[q].w;
      if (first_delta) r.x += d.x, r.y += d.y, r.z += d.z, r.w += d.w;  // combine_add_rmsnorm's delta first
      r.x += a.x, r.y += a.y, r.z += a.z, r.w += a.w;
      new_x[i] = r;
    }
    __syncthreads();
  }
  float4 v[kRowVec];
  const float s = load_row(v, d4, threads, [&](int i) {
    float4 r;
    if constexpr (kDelta == Delta::Slots) {
      r = new_x[i];
    } else {
      r = reinterpret_cast<const float4*>(x + base)[i];
      if constexpr (kDelta == Delta::Row) {
        const float4 a = reinterpret_cast<const float4*>(delta + base)[i];
        r.x += a.x, r.y += a.y, r.z += a.z, r.w += a.w;
      }
    }
    if constexpr (kDelta != Delta::None) reinterpret_cast<float4*>(x + base)[i] = r;
    return r;
  });
  store_normed_row(v, s, dim, threads, eps, g, y + base, scratch);
}

// combine_add_rmsnorm for a few wide rows whose slot rows are many bytes (a MiMo-V2.5-Pro decode step: 8
// slot rows of 24 KB a token): one CTA a row would read them all through one SM. A cluster of
// kCombineClusterCtas CTAs shares each row (cluster_row.cuh): each CTA makes its float4s of the new x (x, +
// delta, + the slot sum, in rmsnorm_block_kernel<Slots>'s order) and writes them, and the cluster norms the
// row with add_rmsnorm's bits.
constexpr int kCombineClusterCtas = 8;

__global__ void __launch_bounds__(kClusterRowMaxThreads<kCombineClusterCtas>)
    combine_add_rmsnorm_cluster_kernel(const float* slots, int k, float* x, const float* w, int dim, float eps, float* y,
                                       const float* first_delta) {
  namespace cg = cooperative_groups;
  const int d4 = dim / 4;
  const int r = blockIdx.x / kCombineClusterCtas;
  const ClusterRowShare<kCombineClusterCtas> share(dim, static_cast<int>(cg::this_cluster().block_rank()));
  float4 g[kRowVec];
  load_row_weight(w, dim, share.threads, g, share.vt);
  pdl_enter();  // launch.cuh: before any access to activations
  __shared__ float4 made[kClusterRowMaxThreads<kCombineClusterCtas>];
  __shared__ float warp_squares[kClusterRowMaxWarps<kCombineClusterCtas>];
  const size_t base = static_cast<size_t>(r) * dim;
  float4* x4 = reinterpret_cast<float4*>(x + base);
  if (const int i = share.made_float4(d4); i >= 0) {
    const float4 a = slot_sum<float4>(slots, k, r, d4, i);
    float4 n = x4[i];
    if (first_delta) n = add_groups(n, reinterpret_cast<const float4*>(first_delta + base)[i]);
    n = add_groups(n, a);
    x4[i] = n;
    made[threadIdx.x] = n;
  }
  __syncthreads();
  cluster_store_normed_row(share, made, dim, eps, g, y + base, warp_squares);
}

// Short rows (per-head QK-norm, head_dim 64-256, many rows): one warp per row.
__global__ void rmsnorm_kernel(const float* x, const float* w, int rows, int dim, float eps, float* y) {
  pdl_enter();  // launch.cuh: before any global memory access
  const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;
  const float* xr = x + static_cast<size_t>(row) * dim;
  const float inv = warp_inv_rms(xr, dim, eps);
  float* yr = y + static_cast<size_t>(row) * dim;
  for (int i = lane; i < dim; i += 32) yr[i] = xr[i] * inv * w[i];
}

__global__ void rope_kernel(float* x, int rows, int heads, int head_dim, int rotary_dim, const int32_t* positions,
                            const float* inv_freq, float af) {
  pdl_enter();  // launch.cuh: before any global memory access
  const int half = rotary_dim / 2;
  const int64_t total = static_cast<int64_t>(rows) * heads * half;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int d = static_cast<int>(i % half);
    const int64_t rh = i / half;  // row * heads + head
    const int row = static_cast<int>(rh / heads);
    float* v = x + rh * head_dim;
    rope_rotate(v[d], v[d + half], positions[row], inv_freq[d], af);
  }
}

__device__ float load_element(const DeviceMatrix& m, int r, int c) {
  const uint8_t* row = m.data + static_cast<size_t>(r) * m.data_row_stride;
  switch (m.format) {
    case WeightFormat::F32: return reinterpret_cast<const float*>(row)[c];
    case WeightFormat::BF16: return __int_as_float(static_cast<int>(reinterpret_cast<const uint16_t*>(row)[c]) << 16);
    case WeightFormat::FP8: {
      const float* srow = reinterpret_cast<const float*>(m.scales + ((r + m.scale_row0) / kFp8BlockSize) * m.scale_row_stride);
      const __half_raw h = __nv_cvt_fp8_to_halfraw(static_cast<__nv_fp8_storage_t>(row[c]), __NV_E4M3);
      return __half2float(*reinterpret_cast<const __half*>(&h)) * srow[(c + m.scale_col0) / kFp8BlockSize];
    }
    case WeightFormat::MXFP4: {
      const float v = mxfp4_row_element_scaled(row, c);
      return v * mxfp4_block_factor(m.scales[static_cast<size_t>(r) * m.scale_row_stride + c / 32]);
    }
  }
  return 0.0f;
}

__global__ void embed_kernel(const int32_t* ids, int n, DeviceMatrix table, int vocab_begin, float* out) {
  pdl_enter();  // launch.cuh: before any global memory access
  const int i = blockIdx.x;
  if (i >= n) return;
  const int local = ids[i] - vocab_begin;
  const bool mine = local >= 0 && local < table.rows;
  for (int c = threadIdx.x; c < table.cols; c += blockDim.x)
    out[static_cast<size_t>(i) * table.cols + c] = mine ? load_element(table, local, c) : 0.0f;
}

__global__ void add_kernel(const float* x, float* y, size_t n, float scale) {
  pdl_enter();  // launch.cuh: before any global memory access
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<size_t>(gridDim.x) * blockDim.x)
    y[i] += x[i] * scale;
}

__global__ void scale_kernel(float* x, size_t n, float s) {
  pdl_enter();  // launch.cuh: before any global memory access
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<size_t>(gridDim.x) * blockDim.x)
    x[i] *= s;
}

__global__ void swiglu_kernel(const float* gate, const float* up, size_t n, cpu::SwigluParams p, float* out) {
  pdl_enter();  // launch.cuh: before any global memory access
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    float g = gate[i], u = up[i];
    if (p.kind == SwigluKind::Standard) {
      out[i] = g / (1.0f + expf(-g)) * u;
    } else {
      g = fminf(g, p.limit);
      u = fminf(fmaxf(u, -p.limit), p.limit);
      out[i] = (u + 1.0f) * (g / (1.0f + expf(-p.alpha * g)));
    }
  }
}

__global__ void gather_rows_kernel(const float* src, const int32_t* rows, int width, float* dst) {
  pdl_enter();  // launch.cuh: before any global memory access
  const float* s = src + static_cast<size_t>(rows[blockIdx.x]) * width;
  float* d = dst + static_cast<size_t>(blockIdx.x) * width;
  for (int c = threadIdx.x; c < width; c += blockDim.x) d[c] = s[c];
}

// One block of 1024 threads per row (a vocabulary slice of up to ~150k logits: 256 threads with scalar
// loads took ~250 us a row); 16-byte loads when the row allows them. Each thread scans its elements in
// ascending order keeping the first maximum, and the reductions prefer the lower index: the lowest
// index among ties wins, as on the CPU.
__device__ __forceinline__ void argmax_take(float v, int i, float& best, int& idx) {
  if (v > best || (v == best && i < idx)) { best = v; idx = i; }
}

__global__ void row_argmax_kernel(const float* logits, int v, int vocab_begin, ArgmaxCandidate* out) {
  pdl_enter();  // launch.cuh: before any global memory access
  const float* row = logits + static_cast<size_t>(blockIdx.x) * v;
  float best = -INFINITY;
  int idx = INT32_MAX;
  int tail = 0;
  if (v % 4 == 0 && reinterpret_cast<uintptr_t>(logits) % 16 == 0) {
    const float4* row4 = reinterpret_cast<const float4*>(row);
    for (int i = threadIdx.x; i < v / 4; i += blockDim.x) {
      const float4 q = row4[i];
      argmax_take(q.x, 4 * i, best, idx);
      argmax_take(q.y, 4 * i + 1, best, idx);
      argmax_take(q.z, 4 * i + 2, best, idx);
      argmax_take(q.w, 4 * i + 3, best, idx);
    }
    tail = v;  // nothing left for the scalar loop
  }
  for (int i = tail + threadIdx.x; i < v; i += blockDim.x) argmax_take(row[i], i, best, idx);
  __shared__ float sv[32];
  __shared__ int si[32];
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) argmax_take(__shfl_xor_sync(0xffffffffu, best, o), __shfl_xor_sync(0xffffffffu, idx, o), best, idx);
  if (threadIdx.x % 32 == 0) { sv[threadIdx.x / 32] = best; si[threadIdx.x / 32] = idx; }
  __syncthreads();
  if (threadIdx.x < 32) {
    best = threadIdx.x < blockDim.x / 32 ? sv[threadIdx.x] : -INFINITY;
    idx = threadIdx.x < blockDim.x / 32 ? si[threadIdx.x] : INT32_MAX;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) argmax_take(__shfl_xor_sync(0xffffffffu, best, o), __shfl_xor_sync(0xffffffffu, idx, o), best, idx);
    if (threadIdx.x == 0) out[blockIdx.x] = ArgmaxCandidate{best, idx == INT32_MAX ? INT32_MAX : idx + vocab_begin};
  }
}

int grid_for(int64_t work, int threads) { return static_cast<int>(std::min<int64_t>((work + threads - 1) / threads, 65535)); }

}  // namespace

namespace {
// Rows a block norms: at least `min_dim` wide. rmsnorm() keeps rows under 512 on the warp kernel, which also norms
// the heads of QK-norm (64-256 wide, many rows); the fused norms (a residual add, the MoE combine) take the block
// kernel from 128 up, so that a small model's hidden rows (the embedded default pair's 384) add and norm in one
// launch instead of two or three.
bool norm_by_block(int dim, const void* a, const void* b, const void* c, const void* d, int min_dim = 512) {
  return dim >= min_dim && dim % 4 == 0 && dim <= kRowBlockMaxDim && aligned16(a) && aligned16(b) && aligned16(c) &&
         aligned16(d);
}
constexpr int kFusedNormMinDim = 128;
}  // namespace

void rmsnorm(const float* x, const float* w, int rows, int dim, float eps, float* y, cudaStream_t stream) {
  if (rows == 0) return;
  if (norm_by_block(dim, x, w, y, x)) {
    launch(rmsnorm_block_kernel<Delta::None>, {dim3(rows), dim3(row_block_threads(dim))}, stream, nullptr, 0,
           const_cast<float*>(x), w, dim, eps, y, nullptr);
  } else {
    constexpr int kWarps = 8;
    launch(rmsnorm_kernel, {dim3((rows + kWarps - 1) / kWarps), dim3(kWarps * 32)}, stream, x, w, rows, dim, eps, y);
  }
  CUDA_CHECK_LAUNCH();
}

void add_rmsnorm(const float* delta, float* x, const float* w, int rows, int dim, float eps, float* y, cudaStream_t stream) {
  if (rows == 0) return;
  if (norm_by_block(dim, delta, x, w, y, kFusedNormMinDim)) {
    launch(rmsnorm_block_kernel<Delta::Row>, {dim3(rows), dim3(row_block_threads(dim))}, stream, delta, 1, x, w, dim, eps, y,
           nullptr);
    CUDA_CHECK_LAUNCH();
    return;
  }
  add(delta, x, static_cast<size_t>(rows) * dim, 1.0f, stream);
  rmsnorm(x, w, rows, dim, eps, y, stream);
}

void combine_add_rmsnorm(const float* slots, int k, float* x, const float* w, int rows, int dim, float eps, float* y,
                         cudaStream_t stream, const float* delta) {
  if (rows == 0) return;
  // Up to one thread per float4 of the row (at least the row's own layout; at most 1024), so that a decode
  // step's one or two rows spread their k slot loads over many threads; the new row goes through shared
  // memory to the row's layout, whose norm then has add_rmsnorm's bits.
  const int threads = std::max(row_block_threads(dim), std::min(kRowMaxThreads, (dim / 4 + 31) / 32 * 32));
  const size_t smem = dim / 4 * sizeof(float4);
  // A cluster a row where the slot rows are many bytes and the rows few. One H200, same binary (docs/benchmarks.md
  // "Session 20"): the MiMo-V2.5-Pro slice's step (8 x 24 KB of slots a token) 1.01-1.03x faster at 1-8 rows and
  // 1.10x at 16 than moe_combine + add_rmsnorm, where the kernel below (one CTA a row) was 0.99x at one row.
  // Qwen3-30B-A3B's 8 x 8 KB (64 KB) keep one CTA a row, which session 12 measured faster than two launches.
  const bool by_blocks = k <= kMaxSlotRows && norm_by_block(dim, slots, x, w, y, kFusedNormMinDim) &&
                         (!delta || norm_by_block(dim, delta, x, w, y, kFusedNormMinDim));
  // Batch invariance (batch_invariant.h): one CTA a row at any row count.
  if (by_blocks && rows <= kCombineClusterMaxRows && !batch_invariant() &&
      static_cast<size_t>(k) * dim * sizeof(float) > kCombineOneCtaBytes) {
    launch(combine_add_rmsnorm_cluster_kernel,
           {dim3(rows * kCombineClusterCtas), dim3(cluster_row_threads<kCombineClusterCtas>(dim)), 0, static_cast<unsigned>(kCombineClusterCtas)},
           stream, slots, k, x, w, dim, eps, y, delta);
    CUDA_CHECK_LAUNCH();
    return;
  }
  if (by_blocks && smem <= kCombineMaxSmem) {
    launch(rmsnorm_block_kernel<Delta::Slots>, {dim3(rows), dim3(threads), smem}, stream, slots, k, x, w, dim, eps, y, delta);
    CUDA_CHECK_LAUNCH();
    return;
  }
  if (delta) add(delta, x, static_cast<size_t>(rows) * dim, 1.0f, stream);
  // moe_combine adds its slot sum to x (s + x, the same bits as x + s), then the norm.
  moe_combine(slots, rows, k, dim, x, stream, /*accumulate=*/true);
  rmsnorm(x, w, rows, dim, eps, y, stream);
}

void rope(float* x, int rows, int heads, int head_dim, int rotary_dim, const int32_t* positions, const float* inv_freq,
          float attention_factor, cudaStream_t stream) {
  const int64_t work = static_cast<int64_t>(rows) * heads * (rotary_dim / 2);
  if (work == 0) return;
  launch(rope_kernel, {dim3(grid_for(work, 256)), dim3(256)}, stream, x, rows, heads, head_dim, rotary_dim, positions, inv_freq,
                                                       attention_factor);
  CUDA_CHECK_LAUNCH();
}

void embed(const int32_t* ids, int n, const DeviceMatrix& table, int vocab_begin, float* out, cudaStream_t stream) {
  if (n == 0) return;
  launch(embed_kernel, {dim3(n), dim3(256)}, stream, ids, n, table, vocab_begin, out);
  CUDA_CHECK_LAUNCH();
}

void add(const float* x, float* y, size_t n, float scale, cudaStream_t stream) {
  if (n == 0) return;
  launch(add_kernel, {dim3(grid_for(static_cast<int64_t>(n), 256)), dim3(256)}, stream, x, y, n, scale);
  CUDA_CHECK_LAUNCH();
}

void scale(float* x, size_t n, float s, cudaStream_t stream) {
  if (n == 0) return;
  launch(scale_kernel, {dim3(grid_for(static_cast<int64_t>(n), 256)), dim3(256)}, stream, x, n, s);
  CUDA_CHECK_LAUNCH();
}

void swiglu(const float* gate, const float* up, size_t n, const cpu::SwigluParams& p, float* out, cudaStream_t stream) {
  if (n == 0) return;
  launch(swiglu_kernel, {dim3(grid_for(static_cast<int64_t>(n), 256)), dim3(256)}, stream, gate, up, n, p, out);
  CUDA_CHECK_LAUNCH();
}

void gather_rows(const float* src, const int32_t* rows, int n, int width, float* dst, cudaStream_t stream) {
  if (n == 0) return;
  launch(gather_rows_kernel, {dim3(n), dim3(256)}, stream, src, rows, width, dst);
  CUDA_CHECK_LAUNCH();
}

void row_argmax(const float* logits, int n, int v, int vocab_begin, ArgmaxCandidate* out, cudaStream_t stream) {
  if (n == 0) return;
  launch(row_argmax_kernel, {dim3(n), dim3(1024)}, stream, logits, v, vocab_begin, out);
  CUDA_CHECK_LAUNCH();
}

}  // namespace tachyon::cuda
