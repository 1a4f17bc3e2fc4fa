// What the one-token expert GEMMs (moe_one_token.cu: gate_up; moe_down_one_token.cu: down) share: x staged
// for the block columns, the step's local pairs, and one 16-row tile's product over weights in shared memory.
// A step of one token (plain decoding of one sequence) names distinct experts, so each CTA can ask for its whole
// share of the weights at once with a few bulk copies (TMA) instead of a per-thread ring (docs/benchmarks.md,
// session 21).
#pragma once

#include <cstdint>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/moe.h"
#include "kernels/cuda/moe_gemm_mma.cuh"
#include "kernels/cuda/row_ops.cuh"
#include "kernels/cuda/tma.cuh"

namespace tachyon::cuda::moe_detail {

constexpr int kOneTokenTileRows = 16;  // an m-tile
constexpr int kOneTokenMaxStage = 2;   // x staging: at most 2 x 512 units of 8 values (K <= 8192 at 512 threads)

// x of the step's one token, times 2^64 (the block columns' shift, see stage_activations), into xs in the
// decoder's order: chunk (step s, block kb) at byte (s * nb + kb) * 8. Thread t of `threads`; all of a
// thread's loads are issued before any is used.
__device__ __forceinline__ void stage_one_token_x(const float* x, int nb, uint8_t* xs, int t, int threads) {
  const int units = 4 * nb;  // (word wi, block kb): 8 consecutive values
  float4 f[kOneTokenMaxStage][2];
#pragma unroll
  for (int i = 0; i < kOneTokenMaxStage; ++i) {
    const int u = t + i * threads;
    if (u < units) {
      const float* src = x + (u % nb) * 32 + 8 * (u / nb);
      f[i][0] = __ldg(reinterpret_cast<const float4*>(src));
      f[i][1] = __ldg(reinterpret_cast<const float4*>(src + 4));
    }
  }
#pragma unroll
  for (int i = 0; i < kOneTokenMaxStage; ++i) {
    const int u = t + i * threads;
    if (u < units) {
      const int kb = u % nb, wi = u / nb;
      constexpr float s = 0x1p64f;
      const float4 a = f[i][0], b = f[i][1];
      *reinterpret_cast<uint2*>(xs + ((2 * wi) * nb + kb) * 8) =
          make_uint2(pack_bf16x2(a.x * s, b.x * s), pack_bf16x2(a.y * s, b.y * s));
      *reinterpret_cast<uint2*>(xs + ((2 * wi + 1) * nb + kb) * 8) =
          make_uint2(pack_bf16x2(a.z * s, b.z * s), pack_bf16x2(a.w * s, b.w * s));
    }
  }
}

// The CTA's start, before its PDL wait: n_bars mbarriers (one arrival each) made visible to the bulk copies,
// the zero row of K BF16 values that one_token_tile's lanes without x read; the CTA synchronized after.
__device__ __forceinline__ void one_token_prologue(uint64_t* bars, int n_bars, uint8_t* zero, int K) {
  if (threadIdx.x == 0) {
    for (int s = 0; s < n_bars; ++s) mbar_init(&bars[s], 1);
    mbar_init_fence();
  }
  for (int i = threadIdx.x; i < 2 * K / 16; i += blockDim.x) reinterpret_cast<uint4*>(zero)[i] = make_uint4(0, 0, 0, 0);
  __syncthreads();
}

// The step's pairs (n_pairs <= 32) as lane j of a warp sees pair j: its local expert (local_experts: none) and the
// mask of local pairs. Every lane of the warp calls it.
struct OneTokenPairs {
  int bucket;
  unsigned local;

  __device__ __forceinline__ explicit OneTokenPairs(const MoeGemmParams& p) {
    const int lane = threadIdx.x % 32;
    bucket = lane < p.n_pairs ? local_expert_bucket(p.expert_ids[lane], p.expert_begin, p.local_experts) : p.local_experts;
    local = __ballot_sync(kFullMask, bucket < p.local_experts);
  }
  __device__ __forceinline__ int count() const { return __popc(local); }
  // The pair of local pair lp (lp < count()) and its local expert; every lane calls it.
  __device__ __forceinline__ int pair(int lp) const { return static_cast<int>(__fns(local, 0, lp + 1)); }
  __device__ __forceinline__ int expert(int pair) const { return __shfl_sync(kFullMask, bucket, pair); }
};

// One k-iteration (4 blocks of 32 values a quad) of a 16-row m-tile of one token's product, added to acc in the
// block-column kernel's order (MmaCta::compute): this lane's block kb of tile row r at w + r * row_bytes (w already
// at the lane's block), its scale byte at scales + r * scale_bytes + kb, x from stage_one_token_x at xrow. Lane
// (gid, tig) feeds x into column gid of the B fragment only where gid = 2 tig, every other lane a zero row: column
// 2 tig then sums exactly the lane's own block (mma_steps_mxfp4_unscaled). acc[0] / acc[2]: the lane's block
// partials of rows gid / gid + 8.
__device__ __forceinline__ void one_token_kstep(const uint8_t* w, int row_bytes, const uint8_t* scales, int scale_bytes,
                                                const uint8_t* xrow, int nb, int kb, float (&acc)[4]) {
  const int gid = (threadIdx.x % 32) / 4;
  // mma_steps_mxfp4_unscaled computes kMT m-tiles; this tile is slot 0 (slot 1 gets zero weights and is
  // dropped), so that the product of each element is the one the block-column kernel makes. The 8 rows a
  // fragment reads are row_bytes apart, so their 16 bytes may share banks (8 shared-memory passes where 4
  // would do); padding them apart would take a copy a row, which costs more (session 21).
  uint32_t wv[kMT][2][4] = {};
  uint32_t sc[2] = {0, 0};
  if (kb < nb) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = h * 8 + gid;
      lds_weight_block(w + r * row_bytes, wv[0][h]);
      sc[h] = scales[r * scale_bytes + kb];
    }
  }
  float t[kMT][4];
  mma_steps_mxfp4_unscaled(wv, xrow + min(kb, nb - 1) * 8, nb * 8, t);
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    // The block's value is the sum * 2^(b - 127), the sum being E2M1 * 2^-126 * x * 2^64 (MmaCta::compute).
    const uint32_t b = sc[h];
    float f = __uint_as_float((b + 62u) << 23);  // 2^(b - 65), b <= 192
    float t0 = t[0][2 * h], t1 = t[0][2 * h + 1];
    if (b > 192u) {
      f = b == 0xFFu ? __uint_as_float(0x7fc00000u) : __uint_as_float(b << 23);
      t0 *= 0x1p62f;
      t1 *= 0x1p62f;
    }
    acc[2 * h] = fmaf(t0, f, acc[2 * h]);
    acc[2 * h + 1] = fmaf(t1, f, acc[2 * h + 1]);
  }
}

// The lane's x row: column gid of the B fragment takes x only where gid = 2 tig (one_token_kstep).
__device__ __forceinline__ const uint8_t* one_token_xrow(const uint8_t* xs, const uint8_t* zero) {
  const int lane = threadIdx.x % 32;
  return lane / 4 == 2 * (lane % 4) ? xs : zero;
}

// One 16-row m-tile over k-iterations [k0, k1), rows whole in shared memory: row r at rows + r * row_bytes.
__device__ __forceinline__ void one_token_tile(const uint8_t* rows, const uint8_t* scales, int row_bytes, int scale_bytes,
                                               const uint8_t* xs, const uint8_t* zero, int nb, int k0, int k1,
                                               float (&acc)[4]) {
  const int tig = threadIdx.x % 4;
  const uint8_t* xrow = one_token_xrow(xs, zero);
  for (int kit = k0; kit < k1; ++kit) {
    const int kb = kit * 4 + tig;
    one_token_kstep(rows + kb * 16, row_bytes, scales, scale_bytes, xrow, nb, kb, acc);
  }
}

// The quad's four lanes' blocks of acc[0] and acc[2] (every lane gets the same bits, as MmaCta::run_item), and
// the value lane tig = 0 / 2 writes: row gid / gid + 8 of the tile.
__device__ __forceinline__ float one_token_quad_value(float a0, float a2) {
  a0 += __shfl_xor_sync(kFullMask, a0, 1);
  a0 += __shfl_xor_sync(kFullMask, a0, 2);
  a2 += __shfl_xor_sync(kFullMask, a2, 1);
  a2 += __shfl_xor_sync(kFullMask, a2, 2);
  return (threadIdx.x % 4) == 0 ? a0 : a2;
}

// The tail of a one-token down projection (moe.h's MoeDownTail, moe_down_tail), run by the CTA that finds every other
// CTA's rows written (the last to count itself in): x (+ delta) + the sum of the token's k slot rows into x, and x
// normed into y, as combine_add_rmsnorm makes them (elementwise.cu, rows of at least 512): the new x float4 by float4
// (x, + delta, + row_ops.cuh's slot_sum of the k <= kMaxSlotRows rows, read through the L2 since other CTAs wrote them),
// then the norm in the row layout of row_ops.cuh (T = row_block_threads(dim) <= this CTA's threads; its other warps
// add zeros to the block sum), so the same bits.
// space: dim + 33 floats of shared memory that nothing reads once every thread is here. Every thread of every CTA calls
// it after writing its rows.
__device__ __forceinline__ void one_token_down_tail(const MoeDownTail& tail, const float* rows, int k, int dim,
                                                    uint8_t* space) {
  float4* new_x = reinterpret_cast<float4*>(space);
  float* scratch = reinterpret_cast<float*>(space) + dim;  // 32 floats
  unsigned& last = *reinterpret_cast<unsigned*>(scratch + 32);
  __syncthreads();  // every thread's rows are written, and nothing reads the work's shared memory any more
  if (threadIdx.x == 0) {
    __threadfence();  // this CTA's rows before its count
    last = atomicAdd(tail.counter, 1u) == gridDim.x - 1;
  }
  __syncthreads();
  if (!last) return;
  __threadfence();  // the other CTAs' rows, counted before ours, are visible past this
  const int d4 = dim / 4, T = row_block_threads(dim);
  float4 g[kRowVec];
  load_row_weight(tail.norm, dim, T, g);
  float4* x4 = reinterpret_cast<float4*>(tail.x);
  for (int i = threadIdx.x; i < d4; i += blockDim.x) {
    float4 r = x4[i];
    if (tail.delta) r = add_groups(r, reinterpret_cast<const float4*>(tail.delta)[i]);
    r = add_groups(r, slot_sum<float4, true>(rows, k, 0, d4, i));
    x4[i] = r;
    new_x[i] = r;
  }
  __syncthreads();
  float4 v[kRowVec];
  const float s = load_row(v, d4, T, [&](int i) { return new_x[i]; });
  store_normed_row(v, s, dim, T, tail.eps, g, tail.y, scratch);
  if (threadIdx.x == 0) *tail.counter = 0;  // for the next launch (stream order)
}

// Before the PDL wait of a kernel with a tail: CTA 0 warms the L2 with the norm's weight for the CTA that will run it.
__device__ __forceinline__ void one_token_tail_prologue(const MoeDownTail& tail, int dim) {
  if (blockIdx.x == 0)
    for (int i = threadIdx.x * 32; i < dim; i += blockDim.x * 32)
      asm volatile("prefetch.global.L2 [%0];" ::"l"(tail.norm + i));
}

// Shared memory of the tail: dim floats of the new x, 32 of the block sum's scratch, the flag.
__host__ __device__ constexpr size_t one_token_tail_bytes(int dim) {
  return (static_cast<size_t>(dim) + 33) * sizeof(float);
}

// Host: lets `kernel` take up to the device's opt-in shared memory a CTA, and asks for the whole carveout as
// shared memory, so that a one-token down CTA fits beside a one-token gate_up CTA on the same SM (and issues its
// copies while gate_up runs). Once a process, a kernel.
template <typename Kernel>
void use_whole_shared_memory(Kernel* kernel, int smem_optin) {
  CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem_optin));
  CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout, cudaSharedmemCarveoutMaxShared));
}

}  // namespace tachyon::cuda::moe_detail
