// The tensor-core expert GEMM (MXFP4 and BF16 weights), for decode-sized token counts per expert.
//
// Shape of the work ("swap AB"): weight rows sit on the M side of mma.sync.m16n8k16 (BF16 in, FP32
// accumulate) and the expert's tokens on N (8 per n-tile), so one token per expert wastes tensor-core
// lanes but not memory bandwidth, which is what decode is bound by. Weights are the A operand and are
// never shared between threads: each thread loads 16 contiguous bytes of a row (one MXFP4 block of 32
// values with its scale byte, or 8 BF16 values) D k-iterations ahead into a ring (the loop unrolled by D
// so that the ring is indexed by constants) and decodes them in registers (dequant.cuh). The ring is
// registers, or (kSmemRing) the thread's own slots in shared memory filled by cp.async, which frees the
// registers for twice the warps (moe_gemm_launch.cuh says where each is used). The thread's K positions
// inside its block do not match the MMA fragment's K positions; they do not have to, because a dot
// product does not care about the order of K as long as A and B agree: the activations are staged in
// shared memory (BF16) already permuted to the order the decoder produces, so each B fragment is one
// 8-byte shared load and the weights need no offline reshuffle.
//
// Work: a persistent grid (one CTA per SM, a fixed size: CUDA graphs) walks a device-side list of items
// (active expert, pass over <= NP of its tokens, group of R row tiles); each CTA owns a contiguous run
// of items, so it stages an expert's activations once for many row tiles. Inside an item the W warps
// are R row tiles x S K-splits (S chosen on the device from the amount of work, so that a few active
// experts still fill the GPU); K-split partials are summed in shared memory over a fixed tree
// (deterministic). Experts with no pairs have no items. Epilogues are fused: gate_up computes the gate
// and up tiles of the same rows in the same warp and writes SwiGLU(gate + b, up + b); down writes
// router weight * (acc + bias_scale * bias).
//
// MXFP4 down projections at one or two tokens an expert, and gate_up in steps of one or two tokens (a
// kernel of its own: moe_gemm_launch.cuh's gate_up_block_columns), use "block columns": of the 8 columns of an
// n-tile only one token would be used, so each lane's 32-value block gets its own column(s) (lane tig's
// B fragment holds x only for column 2 tig + token), the decoded weights skip their scale multiply, and
// each column's product, which now spans one block of one row, is scaled in FP32 after the slot's 8 MMA
// steps; the quad adds its lanes' partials at the end (mma_steps_mxfp4_unscaled, MmaCta::compute).
#pragma once

#include <cuda_bf16.h>

#include <climits>
#include <cstdint>

#include "kernels/cuda/block_scan.cuh"
#include "kernels/cuda/cp_async.cuh"
#include "kernels/cuda/dequant.cuh"
#include "kernels/cuda/mma.cuh"
#include "kernels/cuda/moe_gemm_params.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/ldg_stream.cuh"

namespace tachyon::cuda::moe_detail {

constexpr unsigned kFullMask = 0xffffffffu;
constexpr int kMT = 2;  // m-tiles (of 16 rows) per warp: gate + up rows (gate_up), 32 rows (down)

template <Proj P>
constexpr int tile_rows() { return P == Proj::GateUp ? 16 : 32; }  // rows per matrix of one warp tile

// Shared memory of one CTA, in bytes, for a given staging row stride and tokens per pass; routing_pairs:
// the pairs of in-kernel routing (0: moe_align's routing).
// ring_depth: the shared-memory weight ring's slots (0: the weights ring through registers).
__host__ __device__ constexpr size_t mma_ring_bytes(int warps, int ring_depth) {
  return static_cast<size_t>(ring_depth) * kMT * 2 * 16 * warps * 32;
}
inline size_t mma_smem_bytes(int warps, int ntmax, int rs, int local_experts, int routing_pairs, int ring_depth = 0) {
  const size_t np = 8 * static_cast<size_t>(ntmax);
  const size_t routing = routing_pairs > 0 ? (2 * static_cast<size_t>(routing_pairs) + local_experts + 33) * 4 : 0;
  return mma_ring_bytes(warps, ring_depth)                     // the weight ring (first: 16-byte aligned)
         + np * rs                                             // staged activations
         + static_cast<size_t>(warps / 2) * kMT * ntmax * 512  // K-split partials of half the warps
         + (4 * static_cast<size_t>(local_experts) + 1) * 4    // per-active-expert tables
         + np * 8 + 16                                         // the pass's pair ids and router weights; misc
         + routing;                                            // in-kernel routing: keys, sorted pairs, cursors, scan
}

// In-kernel routing (MoeGemmParams::expert_ids): the CTA sorts the pairs itself, in shared memory, into
// the tables the kernel walks (active experts ascending, each with its first sorted pair, pair count and
// passes before it; s_misc[0] = all passes) and `sorted` (each expert's pairs in ascending pair order),
// exactly what moe_align's routing gives. key[i] = pair i's local expert, or L if it is not local.
// Counts by shared atomics; offsets, active indices and passes in one block scan of three 10-bit fields
// (kInKernelRoutingMaxPairs / MaxExperts keep each sum below 1024); then warp 0 places the pairs 32 at a
// time in pair order, ranking a pair among its chunk's peers (match.any), so the order is stable.
template <int kNP>
__device__ void route_in_cta(const MoeGemmParams& p, int* key, int* sorted, int* cursor, int* scratch, int* s_exp,
                             int* s_start, int* s_cnt, int* s_pref, int* s_misc) {
  const int n = p.n_pairs, L = p.local_experts, tid = threadIdx.x;
  for (int e = tid; e < L; e += blockDim.x) cursor[e] = 0;
  for (int i = tid; i < n; i += blockDim.x) key[i] = local_expert_bucket(p.expert_ids[i], p.expert_begin, L);
  __syncthreads();
  for (int i = tid; i < n; i += blockDim.x)
    if (key[i] < L) atomicAdd(&cursor[key[i]], 1);
  __syncthreads();
  int carry = 0;  // packed: first pair (bits 0-9), active index (10-19), passes before (20-29)
  for (int base = 0; base < L; base += blockDim.x) {
    const int e = base + tid;
    const int c = e < L ? cursor[e] : 0;
    int total = 0;
    const int ex = carry + block_exclusive_scan(c | (c > 0 ? 1 << 10 : 0) | ((c + kNP - 1) / kNP) << 20, scratch, total);
    if (c > 0) {
      const int a = (ex >> 10) & 1023;
      s_exp[a] = e;
      s_start[a] = ex & 1023;
      s_cnt[a] = c;
      s_pref[a] = ex >> 20;
    }
    if (e < L) cursor[e] = ex & 1023;  // from counts to each expert's next free sorted slot
    carry += total;
  }
  if (tid == 0) {
    s_pref[(carry >> 10) & 1023] = carry >> 20;
    s_misc[0] = carry >> 20;
  }
  __syncthreads();
  if (tid < 32) {
    for (int base = 0; base < n; base += 32) {
      const int i = base + tid;
      const int k = i < n ? key[i] : L;
      const unsigned peers = __match_any_sync(kFullMask, k);
      const unsigned before = peers & ((1u << tid) - 1u);
      if (k < L) sorted[cursor[k] + __popc(before)] = i;
      __syncwarp();
      if (k < L && before == 0) cursor[k] += __popc(peers);
      __syncwarp();
    }
  }
  __syncthreads();
}

// In-kernel routing of at most 32 pairs by one warp (warp 0; the caller synchronizes the CTA after it): the
// same tables and order as route_in_cta, from ranks computed across the warp's lanes (lane i holds pair i)
// instead of counts, scans and barriers over every local expert. A lane's pair goes after every local pair
// of a smaller expert and after the pairs of its own expert with a smaller index. One H200 (docs/benchmarks.md,
// session 18), same binary against route_in_cta: the step 1.015x (MiMo-V2.5-Pro slice) and 1.021x (Qwen3-30B-A3B)
// at 1 x 1, 1.003-1.012x at 2 x 1 and 4 x 1; the expert GEMMs' tables ready ~0.3 us sooner after the wait.
template <int kNP>
__device__ void route_in_warp(const MoeGemmParams& p, int* key, int* sorted, int* s_exp, int* s_start, int* s_cnt,
                              int* s_pref, int* s_misc) {
  const int n = p.n_pairs, L = p.local_experts, lane = threadIdx.x % 32;
  int k = L;
  if (lane < n) {
    k = local_expert_bucket(p.expert_ids[lane], p.expert_begin, L);
    key[lane] = k;
  }
  const unsigned peers = __match_any_sync(kFullMask, k);
  const unsigned before = peers & ((1u << lane) - 1u);
  const int cnt = __popc(peers), passes = (cnt + kNP - 1) / kNP;
  const bool local = k < L, leader = local && before == 0;
  const unsigned leaders = __ballot_sync(kFullMask, leader);
  int smaller = 0, experts_before = 0, passes_before = 0;
  for (int j = 0; j < 32; ++j) {
    const int kj = __shfl_sync(kFullMask, k, j);
    const int passes_j = __shfl_sync(kFullMask, passes, j);
    if (kj < k) {
      ++smaller;
      if (leaders >> j & 1u) {
        ++experts_before;
        passes_before += passes_j;
      }
    }
  }
  if (local) sorted[smaller + __popc(before)] = lane;
  if (leader) {
    s_exp[experts_before] = k;
    s_start[experts_before] = smaller;
    s_cnt[experts_before] = cnt;
    s_pref[experts_before] = passes_before;
  }
  const int total = __reduce_add_sync(kFullMask, leader ? passes : 0);
  if (lane == 0) {
    s_pref[__popc(leaders)] = total;
    s_misc[0] = total;
  }
}

// The shared-memory ring's read of a thread's own 16 bytes, once its copy group has landed.
__device__ __forceinline__ void lds_weight_block(const uint8_t* src, uint32_t (&w)[4]) {
  const unsigned a = static_cast<unsigned>(__cvta_generic_to_shared(src));
  asm volatile("ld.shared.v4.u32 {%0, %1, %2, %3}, [%4];" : "=r"(w[0]), "=r"(w[1]), "=r"(w[2]), "=r"(w[3]) : "r"(a));
}

// One k-iteration of MXFP4: the thread's 32 values of rows gid and gid + 8 of each m-tile, 8 MMA steps.
// Step s uses word s/2 of the block; its A registers are pairs (2h, 2h+4) and (2h+1, 2h+5) of that word,
// h = s % 2 (see mxfp4_pair_bf16x2_scaled in mxfp4_decode_order.h); the staging below puts x in the same order. kTwoFactors:
// some scale byte of the warp is above 128 and needs the second multiply (mxfp4_bf16x2_factors); the
// common case builds only the single factor 2^(b-1).
// xb: the lane's B row (column gid of n-tile 0) at its block; n-tile nt's is nt * ts bytes further (ts = 8 staged rows
// in a pass's own staging, any distance in the token table: see MmaRun::run).
template <bool kTwoFactors, int NT>
__device__ __forceinline__ void mma_steps_mxfp4(const uint32_t (&w)[kMT][2][4], const uint32_t (&sc)[kMT][2],
                                                const uint8_t* xb, int ts, int nb8, float (&acc)[kMT][NT][4]) {
  uint32_t f1[kMT][2], f2[kMT][2];
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      if constexpr (kTwoFactors) {
        const Bf16x2Factors f = mxfp4_bf16x2_factors(sc[mt][h]);
        f1[mt][h] = f.first;
        f2[mt][h] = f.second;
      } else {
        f1[mt][h] = ((sc[mt][h] + 126u) << 7) * 0x10001u;  // 2^(b-1), b <= 128
      }
    }
#pragma unroll
  for (int s = 0; s < 8; ++s) {
    const int wi = s / 2, h = s % 2;
    uint32_t a[kMT][4];
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt) {
      a[mt][0] = bf16x2_mul(mxfp4_pair_scaled(w[mt][0][wi], 2 * h), f1[mt][0]);
      a[mt][1] = bf16x2_mul(mxfp4_pair_scaled(w[mt][1][wi], 2 * h), f1[mt][1]);
      a[mt][2] = bf16x2_mul(mxfp4_pair_scaled(w[mt][0][wi], 2 * h + 1), f1[mt][0]);
      a[mt][3] = bf16x2_mul(mxfp4_pair_scaled(w[mt][1][wi], 2 * h + 1), f1[mt][1]);
      if constexpr (kTwoFactors) {
        a[mt][0] = bf16x2_mul(a[mt][0], f2[mt][0]);
        a[mt][1] = bf16x2_mul(a[mt][1], f2[mt][1]);
        a[mt][2] = bf16x2_mul(a[mt][2], f2[mt][0]);
        a[mt][3] = bf16x2_mul(a[mt][3], f2[mt][1]);
      }
    }
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
      const uint2 b = *reinterpret_cast<const uint2*>(xb + nt * ts + s * nb8);
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) mma_bf16(acc[mt][nt], a[mt], b.x, b.y);
    }
  }
}

// One k-iteration of MXFP4 at one or two tokens ("block columns"): the same 8 MMA steps without the
// scale multiplies, into fresh accumulators t. The lane's B fragment is x only in column 2 tig (token
// 0) and 2 tig + 1 (token 1) and zero elsewhere (the caller points it at a zero row), so column 2 tig of
// t sums exactly this lane's own 32-value block: every product of one column shares the lane's two
// scale bytes (rows gid, gid + 8), which are applied to t in FP32 afterwards (MmaCta::compute).
__device__ __forceinline__ void mma_steps_mxfp4_unscaled(const uint32_t (&w)[kMT][2][4], const uint8_t* xb, int nb8,
                                                         float (&t)[kMT][4]) {
#pragma unroll
  for (int s = 0; s < 8; ++s) {
    const int wi = s / 2, h = s % 2;
    const uint2 b = *reinterpret_cast<const uint2*>(xb + s * nb8);
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt) {
      const uint32_t a[4] = {mxfp4_pair_scaled(w[mt][0][wi], 2 * h), mxfp4_pair_scaled(w[mt][1][wi], 2 * h),
                             mxfp4_pair_scaled(w[mt][0][wi], 2 * h + 1), mxfp4_pair_scaled(w[mt][1][wi], 2 * h + 1)};
      if (s == 0) mma_bf16_first(t[mt], a, b.x, b.y);
      else mma_bf16(t[mt], a, b.x, b.y);
    }
  }
}

// One k-iteration of BF16: 8 values per row, 2 MMA steps, no decoding (the natural K order).
template <int NT>
__device__ __forceinline__ void mma_steps_bf16(const uint32_t (&w)[kMT][2][4], const uint8_t* xb, int ts, int nb8,
                                               float (&acc)[kMT][NT][4]) {
#pragma unroll
  for (int s = 0; s < 2; ++s) {
    uint32_t a[kMT][4];
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt) {
      a[mt][0] = w[mt][0][2 * s];
      a[mt][1] = w[mt][1][2 * s];
      a[mt][2] = w[mt][0][2 * s + 1];
      a[mt][3] = w[mt][1][2 * s + 1];
    }
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
      const uint2 b = *reinterpret_cast<const uint2*>(xb + nt * ts + s * nb8);
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) mma_bf16(acc[mt][nt], a[mt], b.x, b.y);
    }
  }
}

// Shared-memory layout of one staged activation row (token n of the pass), in 8-byte chunks of 4 BF16:
// chunk (step s, block kb) at byte n*rs + (s*nb + kb)*8 holds the 4 values that the thread owning block
// kb feeds to MMA step s. Step-major order makes the 4 threads of a quad (consecutive blocks) read 32
// contiguous bytes, and rs = 32 (mod 128) puts the quads of a half-warp on distinct banks.
// x_scale: 1, or 2^64 for MXFP4's block columns (their unscaled weights are E2M1 * 2^-126, see
// mma_steps_mxfp4_unscaled): an exact power-of-two shift that keeps the products clear of FP32 subnormals.
// Row n (< ntok) is pair s_pair[n]'s input row or, where s_pair is null, input row n (the token table: every token
// of the step, MmaRun::run); rows ntok..nrows-1 are zeros (their MMA columns are discarded) or, with one_zero_row,
// only row nrows - 1 is (where ntok < nrows), and the caller points every column past ntok at it (MmaRun::run: a pass
// of one token stages 2 rows, not 8).
// A thread's units are threadIdx.x + i blockDim.x; their (row, block) indices advance by adding blockDim.x's quotient
// and remainder by nb, not by a division a unit (a runtime divisor: about twenty instructions).
template <WeightFormat F, Proj P>
__device__ void stage_activations(const MoeGemmParams& p, const int* s_pair, int ntok, int nrows, float x_scale,
                                  uint8_t* xs, bool one_zero_row = false) {
  const int K = p.K, nb = p.nb, rs = p.rs;
  const int rows_out = one_zero_row ? ntok + (ntok < nrows ? 1 : 0) : nrows;
  // The staged row of unit row r (the rows past ntok: the zero row).
  const auto row_of = [&](int r) { return r < ntok || !one_zero_row ? r : nrows - 1; };
  const int step_kb = blockDim.x % nb, step_rest = blockDim.x / nb;
  int kb = threadIdx.x % nb, rest = threadIdx.x / nb;
  const auto next = [&]() {
    kb += step_kb;
    rest += step_rest;
    if (kb >= nb) {
      kb -= nb;
      ++rest;
    }
  };
  if constexpr (F == WeightFormat::MXFP4) {
    // Unit = (row n, word wi, block kb): 8 consecutive values -> chunks of steps 2wi and 2wi+1 as
    // (e0, e4, e1, e5) and (e2, e6, e3, e7), the decoder's pair order.
    const int units = rows_out * 4 * nb;
    for (int u = threadIdx.x; u < units; u += blockDim.x, next()) {
      const int wi = rest % 4, r = rest / 4, n = row_of(r);
      uint2 c0 = make_uint2(0, 0), c1 = make_uint2(0, 0);
      if (r < ntok) {
        const int in_row = s_pair != nullptr ? s_pair[r] / p.in_row_div : r;
        const float* src = p.in + static_cast<size_t>(in_row) * K + kb * 32 + 8 * wi;
        float4 f0 = __ldg(reinterpret_cast<const float4*>(src));
        float4 f1 = __ldg(reinterpret_cast<const float4*>(src + 4));
        f0 = make_float4(f0.x * x_scale, f0.y * x_scale, f0.z * x_scale, f0.w * x_scale);
        f1 = make_float4(f1.x * x_scale, f1.y * x_scale, f1.z * x_scale, f1.w * x_scale);
        c0 = make_uint2(pack_bf16x2(f0.x, f1.x), pack_bf16x2(f0.y, f1.y));
        c1 = make_uint2(pack_bf16x2(f0.z, f1.z), pack_bf16x2(f0.w, f1.w));
      }
      uint8_t* row = xs + static_cast<size_t>(n) * rs;
      *reinterpret_cast<uint2*>(row + ((2 * wi) * nb + kb) * 8) = c0;
      *reinterpret_cast<uint2*>(row + ((2 * wi + 1) * nb + kb) * 8) = c1;
    }
  } else {
    // Unit = (row n, step s, block kb): 4 consecutive values, in order.
    const int units = rows_out * 2 * nb;
    for (int u = threadIdx.x; u < units; u += blockDim.x, next()) {
      const int s = rest % 2, r = rest / 2, n = row_of(r);
      uint2 c = make_uint2(0, 0);
      if (r < ntok) {
        const int in_row = s_pair != nullptr ? s_pair[r] / p.in_row_div : r;
        const float* src = p.in + static_cast<size_t>(in_row) * K + kb * 8 + 4 * s;
        const float4 f = __ldg(reinterpret_cast<const float4*>(src));
        c = make_uint2(pack_bf16x2(f.x, f.y), pack_bf16x2(f.z, f.w));
      }
      *reinterpret_cast<uint2*>(xs + static_cast<size_t>(n) * rs + (s * nb + kb) * 8) = c;
    }
  }
}

// The n-tiles an item runs with: its token count rounded up to 1, 2 or 4 tiles (each count is its own
// unrolled loop, so the MMA steps carry no per-tile predicates or branches).
template <int NTMAX>
__device__ __forceinline__ int exec_tiles(int ntok) {
  const int t = (ntok + 7) / 8;
  return t <= 1 ? 1 : t <= 2 ? 2 : NTMAX;
}

// One CTA of moe_mma_kernel: its shared-memory tables, the warp's role, the load cursor (which runs D
// k-iterations ahead of the compute, across item boundaries) and the register ring it fills.
// kPerSlot (MXFP4): decide the big-scale path per ring slot rather than per round of D slots. A round
// is then D blocks of code, each ending in its slot's reload; deciding per round lets the whole round
// be scheduled as one block, but its decision needs the scale bytes of the slot loaded last.
// kSmemRing: the ring's weight bytes live in shared memory (cp.async, one commit group per slot) instead
// of registers; each thread reads back only its own bytes, so no barrier is needed, and the registers the
// ring held are free (the scale bytes stay in registers: the big-scale decision reads them).
template <WeightFormat F, Proj P, int W, int D, int NTMAX, bool kPerSlot, bool kBlockCols, bool kSmemRing>
struct MmaCta {
  static constexpr int kNP = NTMAX * 8;  // tokens per pass
  static constexpr int kTR = tile_rows<P>();
  // MXFP4 block columns at one or two tokens an expert (kBlockCols). Down projections always take them:
  // in the same calls (one H200, docs/benchmarks.md session 10) they made every down projection faster
  // (kernel bench 1.05-1.09x at 1-2 tokens an expert). gate_up takes them only in a kernel of their own,
  // for steps of one or two tokens (moe_gemm_launch.cuh): compiled into the one kernel, the block path made
  // gate_up's usual path slower (its code and registers; Qwen3-30B-A3B's step 0.94x at 8 x 1, session 12).
  static constexpr bool kBlockColumns = F == WeightFormat::MXFP4 && kBlockCols;

  const MoeGemmParams& p;
  uint8_t* xs;
  float* red;
  const int *s_pref, *s_exp;
  int* s_pair;
  float* s_wt;
  int warp, lane, gid, tig;
  int rows, nb, nb8, rs, n_it, T, S, R, RG, J, r_local, ks;
  int brow;  // block columns: the staged row this lane's B fragment reads (token 0 or 1, or a zero row)
  int xoff, xts;  // the lane's B row for n-tile 0 (byte offset in xs) and the bytes from it to n-tile 1's
  int i1;
  // load cursor
  int li;
  int lj, la;
  const uint8_t* lrow[kMT];   // row gid of m-tile mt at the item's expert; row gid + 8 is 8 rows further
  const uint8_t* lsrow[kMT];
  bool lvalid[kMT][2];
  uint32_t wbuf[kSmemRing ? 1 : D][kMT][2][4];
  uint32_t sbuf[D][kMT][2];
  uint8_t* ring;  // kSmemRing: this thread's 16 bytes of slot 0, m-tile 0, row gid; see ring_at

  // Slot d, m-tile mt, row gid + 8 h of this thread in the shared-memory ring: consecutive threads'
  // 16 bytes are adjacent (conflict-free 128-bit accesses).
  __device__ __forceinline__ uint8_t* ring_at(int d, int mt, int h) const {
    return ring + static_cast<size_t>((d * kMT + mt) * 2 + h) * (W * 32 * 16);
  }

  __device__ __forceinline__ MmaCta(const MoeGemmParams& params) : p(params) {}

  __device__ __forceinline__ void set_load_item() {
    const bool item_ok = li < i1;
    int e = 0, rt = 0;
    if (item_ok) {
      const int pi = li / RG;
      const int g = static_cast<int>(li - pi * RG);
      while (s_pref[la + 1] <= pi) ++la;
      e = s_exp[la];
      rt = g * R + r_local;
    }
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt) {
      const DeviceExperts& we = (P == Proj::GateUp && mt == 1) ? p.w1 : p.w0;
      const int row = (P == Proj::GateUp ? rt * 16 : rt * 32 + mt * 16) + gid;
      lvalid[mt][0] = item_ok && row < rows;
      lvalid[mt][1] = item_ok && row + 8 < rows;
      lrow[mt] = we.first.data + e * we.expert_data_stride + static_cast<size_t>(row) * we.first.data_row_stride;
      lsrow[mt] = nullptr;
      if constexpr (F == WeightFormat::MXFP4)
        lsrow[mt] = we.first.scales + e * we.expert_scale_stride + static_cast<size_t>(row) * we.first.scale_row_stride;
    }
  }

  // Loads k-iteration lj + d of the load cursor's item into ring slot d.
  __device__ __forceinline__ void issue(int d) {
    const int kb = (ks * J + lj + d) * 4 + tig;
    if constexpr (kSmemRing) {
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          sbuf[d][mt][h] = 0;
          const bool ok = lvalid[mt][h] && kb < nb;
          const uint8_t* src = ok ? lrow[mt] + h * 8 * p.w0.first.data_row_stride + static_cast<size_t>(kb) * 16
                                  : p.w0.first.data;
          cp_async16<true>(ring_at(d, mt, h), src, ok ? 16 : 0);  // zero-filled past the row's end
          if constexpr (F == WeightFormat::MXFP4)
            if (ok) sbuf[d][mt][h] = __ldg(lsrow[mt] + h * 8 * p.w0.first.scale_row_stride + kb);
        }
      cp_async_commit();  // one group a slot: compute waits for slot d's alone
    } else {
      // (One loop for both rings changed the register ring's allocation in most instantiations, untimed;
      // kept apart until measured.)
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          wbuf[d][mt][h][0] = wbuf[d][mt][h][1] = wbuf[d][mt][h][2] = wbuf[d][mt][h][3] = 0;
          sbuf[d][mt][h] = 0;
          if (lvalid[mt][h] && kb < nb) {
            // The two matrices of gate_up share their row strides (mma_path_applies checks it).
            ldg_stream16(lrow[mt] + h * 8 * p.w0.first.data_row_stride + static_cast<size_t>(kb) * 16, wbuf[d][mt][h]);
            if constexpr (F == WeightFormat::MXFP4) sbuf[d][mt][h] = __ldg(lsrow[mt] + h * 8 * p.w0.first.scale_row_stride + kb);
          }
        }
    }
  }

  // Moves the load cursor D iterations on. J is a multiple of D, so items change only between rounds.
  __device__ __forceinline__ void advance() {
    lj += D;
    if (lj == J) {
      lj = 0;
      ++li;
      set_load_item();
    }
  }

  // Scale bytes above this take the slow factor path (kTwo): the scaled path's BF16 factor 2^(b-1) is
  // finite up to b = 128; block columns fold 2^62 into an FP32 factor 2^(b-65), finite up to b = 192.
  template <bool kBlock>
  static constexpr uint32_t kBigScale = kBlock ? 192u : 128u;

  // Ring slot d's weights: the register ring's, or read back from the shared-memory ring into wl once
  // the slot's copy group has landed (the D - 1 groups issued after it may still be in flight).
  __device__ __forceinline__ const uint32_t (&slot_weights(int d, uint32_t (&wl)[kMT][2][4]))[kMT][2][4] {
    if constexpr (kSmemRing) {
      cp_async_wait<D - 1>();
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int h = 0; h < 2; ++h) lds_weight_block(ring_at(d, mt, h), wl[mt][h]);
      return wl;
    } else {
      return wbuf[d];
    }
  }

  // The MMA steps of ring slot d (k-iteration kit) into acc. kTwo: some scale byte is above kBigScale
  // (decided for a whole round of D slots, so that a round is one basic block). kBlock: MXFP4 block
  // columns (one or two tokens; acc holds per-lane partials of the lane's own blocks, summed over the
  // quad at the end of the item).
  template <int NT, bool kTwo, bool kBlock>
  __device__ __forceinline__ void compute(int d, int kit, float (&acc)[kMT][NT][4]) {
    // Lanes past the last block multiply zero weights; point them at a real block's activations.
    const int kb = min(kit * 4 + tig, nb - 1);
    uint32_t wl[kMT][2][4];
    const uint32_t(&w)[kMT][2][4] = slot_weights(d, wl);
    if constexpr (kBlock) {
      static_assert(F == WeightFormat::MXFP4 && NT == 1, "block columns: MXFP4, one n-tile");
      float t[kMT][4];
      mma_steps_mxfp4_unscaled(w, xs + brow * rs + kb * 8, nb8, t);
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          // t = (sum of E2M1 * x) * 2^-126 * 2^64; the block's value is that sum * 2^(b - 127).
          const uint32_t b = sbuf[d][mt][h];
          float f = __uint_as_float((b + 62u) << 23);  // 2^(b - 65), b <= 192
          float t0 = t[mt][2 * h], t1 = t[mt][2 * h + 1];
          if constexpr (kTwo) {
            if (b > kBigScale<true>) {  // 2^(b - 127) on the unshifted sum; NaN block for b = 0xFF
              f = b == 0xFFu ? __uint_as_float(0x7fc00000u) : __uint_as_float(b << 23);
              t0 *= 0x1p62f;
              t1 *= 0x1p62f;
            }
          }
          acc[mt][0][2 * h] = fmaf(t0, f, acc[mt][0][2 * h]);
          acc[mt][0][2 * h + 1] = fmaf(t1, f, acc[mt][0][2 * h + 1]);
        }
    } else {
      const uint8_t* xb = xs + xoff + kb * 8;
      if constexpr (F == WeightFormat::MXFP4) mma_steps_mxfp4<kTwo, NT>(w, sbuf[d], xb, xts, nb8, acc);
      else mma_steps_bf16<NT>(w, xb, xts, nb8, acc);
    }
  }

  // One round: the D ring slots' MMA steps, each slot reloaded right after it is consumed.
  template <int NT, bool kTwo, bool kBlock>
  __device__ __forceinline__ void round(int kit0, float (&acc)[kMT][NT][4]) {
#pragma unroll
    for (int d = 0; d < D; ++d) {
      compute<NT, kTwo, kBlock>(d, kit0 + d, acc);
      issue(d);
    }
    advance();
  }

  // Waits for the S warps of this warp's row tile (the K-split sums' barrier).
  __device__ __forceinline__ void tile_barrier() const {
    asm volatile("bar.sync %0, %1;" ::"r"(1 + r_local), "r"(S * 32) : "memory");
  }

  // One item (expert e, row group g) over the staged pass of ntok tokens, NT n-tiles; kBlock: MXFP4 block
  // columns (ntok <= 2, NT = 1).
  template <int NT, bool kBlock>
  __device__ __forceinline__ void run_item(int e, int g, int ntok) {
    float acc[kMT][NT][4];
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
      for (int nt = 0; nt < NT; ++nt)
#pragma unroll
        for (int i = 0; i < 4; ++i) acc[mt][nt][i] = 0.0f;

    for (int jj = 0; jj < J; jj += D) {
      const int kit0 = ks * J + jj;
      if (kit0 >= n_it) {  // warp-uniform: past the row's end only the ring turns
#pragma unroll
        for (int d = 0; d < D; ++d) issue(d);
        advance();
        continue;
      }
      // Slots past the row's end hold zero weights: computing them adds exact zeros, which is cheaper
      // than a branch per slot (it would split the round's code into separately scheduled blocks).
      if constexpr (F == WeightFormat::MXFP4 && kPerSlot) {
#pragma unroll
        for (int d = 0; d < D; ++d) {
          bool two = false;
#pragma unroll
          for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
            for (int h = 0; h < 2; ++h) two |= sbuf[d][mt][h] > kBigScale<kBlock>;
          if (__any_sync(kFullMask, two)) compute<NT, true, kBlock>(d, kit0 + d, acc);
          else compute<NT, false, kBlock>(d, kit0 + d, acc);
          issue(d);
        }
        advance();
      } else if constexpr (F == WeightFormat::MXFP4) {
        bool two = false;
#pragma unroll
        for (int d = 0; d < D; ++d)
#pragma unroll
          for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
            for (int h = 0; h < 2; ++h) two |= sbuf[d][mt][h] > kBigScale<kBlock>;
        if (__any_sync(kFullMask, two)) round<NT, true, kBlock>(kit0, acc);
        else round<NT, false, kBlock>(kit0, acc);
      } else {
        round<NT, false, false>(kit0, acc);
      }
    }

    // K-split partials, summed over a fixed tree of the splits (deterministic): in round `step`, split
    // ks = step (mod 2 step) hands its partial to split ks - step through slot warp / 2. The S warps of a row tile
    // (warps r_local S .. r_local S + S - 1) use slots of their own, so only they wait for each other: named barrier
    // 1 + r_local (R <= W / 2 <= 8 row tiles when S >= 2).
    for (int step = 1; step < S; step *= 2) {
      tile_barrier();  // the slots' previous readers are done
      if (ks % (2 * step) == step) {
        float* slot = red + (warp >> 1) * (kMT * NT * 128);
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
          for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int i = 0; i < 4; ++i) slot[(mt * NT + nt) * 128 + i * 32 + lane] = acc[mt][nt][i];
      }
      tile_barrier();
      if (ks % (2 * step) == 0) {
        const float* slot = red + ((warp + step) >> 1) * (kMT * NT * 128);
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
          for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int i = 0; i < 4; ++i) acc[mt][nt][i] += slot[(mt * NT + nt) * 128 + i * 32 + lane];
      }
    }

    const int rt = g * R + r_local;
    if (ks != 0 || rt >= T) return;
    if constexpr (kBlock) {
      // Each lane of a quad holds the partial sums of its own blocks (k-iterations' block tig): add the
      // quad's four (a butterfly: every lane gets the same bits), then lane tig writes accumulator tig,
      // row gid + 8 (tig / 2), token tig % 2.
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          acc[mt][0][i] += __shfl_xor_sync(kFullMask, acc[mt][0][i], 1);
          acc[mt][0][i] += __shfl_xor_sync(kFullMask, acc[mt][0][i], 2);
        }
      // Accumulator tig of each m-tile, picked by selects (an index by tig would put acc in local memory).
      float v[kMT];
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) {
        const float(&a)[4] = acc[mt][0];
        v[mt] = tig == 0 ? a[0] : tig == 1 ? a[1] : tig == 2 ? a[2] : a[3];
      }
      const int n = tig & 1;
      if (n >= ntok) return;
      float* out = p.out + static_cast<size_t>(s_pair[n]) * rows;
      if constexpr (P == Proj::GateUp) {
        const int row = rt * 16 + gid + 8 * (tig >> 1);  // m-tile 0 gate, 1 up, of the same rows
        if (row < rows) out[row] = epilogue_value<P>(p, e, row, v[0], v[1], 1.0f);
      } else {
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt) {
          const int row = rt * 32 + mt * 16 + gid + 8 * (tig >> 1);
          if (row < rows) out[row] = epilogue_value<P>(p, e, row, v[mt], 0.0f, s_wt[n]);
        }
      }
    } else {
      // Accumulator i of n-tile nt: row gid + 8 (i / 2), token nt * 8 + 2 tig + i % 2.
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const int n = nt * 8 + 2 * tig + (i & 1);
          if (n >= ntok) continue;
          float* out = p.out + static_cast<size_t>(s_pair[n]) * rows;
          if constexpr (P == Proj::GateUp) {
            const int row = rt * 16 + gid + 8 * (i >> 1);
            if (row < rows) out[row] = epilogue_value<P>(p, e, row, acc[0][nt][i], acc[1][nt][i], 1.0f);
          } else {
#pragma unroll
            for (int mt = 0; mt < kMT; ++mt) {
              const int row = rt * 32 + mt * 16 + gid + 8 * (i >> 1);
              if (row < rows) out[row] = epilogue_value<P>(p, e, row, acc[mt][nt][i], 0.0f, s_wt[n]);
            }
          }
        }
      }
    }
  }
};

// moe_mma_kernel in pieces: the CTA's shared memory (MmaSmem, carve_smem), the routing tables
// (build_tables), the K split (choose_split) and the walk over the CTA's items (MmaRun). Written as one
// function before, the MiMo-V2.5-Pro slice's down kernel (16 warps, 2 n-tiles) spilled 8 bytes to local
// memory; as these pieces it does not (its launch 7.29 -> 7.05 us in the step's timeline, docs/benchmarks.md
// session 19).

// The shared memory of one CTA (mma_smem_bytes' layout): the weight ring (kSmemRing), the staged
// activations, the K-split partials, the active experts' tables, the staged pass and, for in-kernel
// routing, the routing's own arrays.
struct MmaSmem {
  uint8_t* ring;
  uint8_t* xs;
  float* red;
  int* s_pref;   // [A + 1]: passes before active expert a
  int* s_exp;    // [A]: local expert id
  int* s_start;  // [A]: its first sorted pair
  int* s_cnt;    // [A]: its pair count
  int* s_pair;   // [kNP]: the staged pass's pairs
  float* s_wt;   // [kNP]: their router weights
  int* s_misc;   // [4]: all passes (build_tables), the K split (choose_split)
  int* r_key;      // in-kernel routing: [n_pairs] each pair's local expert (L: not local)
  int* r_sorted;   // [n_pairs]: the local pairs sorted by expert
  int* r_cursor;   // [L]
  int* r_scratch;  // [33]
};

// rs: the staged activation row's stride in bytes (MoeGemmParams::rs).
template <int W, int NTMAX, int kRingDepth>
__device__ __forceinline__ MmaSmem carve_smem(uint8_t* smem_all, int rs, int local_experts, int n_pairs) {
  constexpr int kNP = NTMAX * 8;
  const int L = local_experts;
  MmaSmem m;
  m.ring = smem_all;
  uint8_t* smem = smem_all + mma_ring_bytes(W, kRingDepth);
  m.xs = smem;
  m.red = reinterpret_cast<float*>(smem + static_cast<size_t>(kNP) * rs);
  m.s_pref = reinterpret_cast<int*>(m.red + (W / 2) * kMT * NTMAX * 128);
  m.s_exp = m.s_pref + L + 1;
  m.s_start = m.s_exp + L;
  m.s_cnt = m.s_start + L;
  m.s_pair = m.s_cnt + L;
  m.s_wt = reinterpret_cast<float*>(m.s_pair + kNP);
  m.s_misc = reinterpret_cast<int*>(m.s_wt + kNP);
  m.r_key = m.s_misc + 4;
  m.r_sorted = m.r_key + n_pairs;
  m.r_cursor = m.r_sorted + n_pairs;
  m.r_scratch = m.r_cursor + L;
  return m;
}

// The tables of the active experts and their passes (s_misc[0] = all passes), from in-kernel routing or
// from moe_align's; the CTA is synchronized after them.
template <int kNP>
__device__ __forceinline__ void build_tables(const MoeGemmParams& p, const MmaSmem& m) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (p.expert_ids != nullptr) {
    if (p.n_pairs <= 32) {
      if (warp == 0) route_in_warp<kNP>(p, m.r_key, m.r_sorted, m.s_exp, m.s_start, m.s_cnt, m.s_pref, m.s_misc);
    } else {
      route_in_cta<kNP>(p, m.r_key, m.r_sorted, m.r_cursor, m.r_scratch, m.s_exp, m.s_start, m.s_cnt, m.s_pref, m.s_misc);
    }
  } else if (warp == 0) {
    const int A = *p.active_count;
    int carry = 0;
    for (int base = 0; base < A; base += 32) {
      const int a = base + lane;
      int passes = 0;
      if (a < A) {
        const int e = p.active_experts[a];
        const int st = p.offsets[e], cnt = p.offsets[e + 1] - st;
        m.s_exp[a] = e;
        m.s_start[a] = st;
        m.s_cnt[a] = cnt;
        passes = (cnt + kNP - 1) / kNP;
      }
      int incl = passes;
#pragma unroll
      for (int o = 1; o < 32; o <<= 1) {
        const int v = __shfl_up_sync(kFullMask, incl, o);
        if (lane >= o) incl += v;
      }
      if (a < A) m.s_pref[a + 1] = carry + incl;
      carry += __shfl_sync(kFullMask, incl, 31);
    }
    if (lane == 0) {
      m.s_pref[0] = 0;
      m.s_misc[0] = carry;
    }
  }
  __syncthreads();
}

// The K split S (the same on every CTA): the least items per CTA (the largest share) x (iterations per item
// per warp + item_cost). item_cost counts what an item costs besides its k-iterations (its K-split sum, epilogue
// and ring turn-over) in k-iterations: so that fewer, longer items win where the largest share alone ties or
// nearly ties; `fixed` > 0 is taken as it is. Thread 0 writes S to *out; the CTA is synchronized after it.
template <int W, int D>
__device__ __forceinline__ void choose_split(int passes, int T, int n_it, int item_cost, int fixed, int* out) {
  if (threadIdx.x == 0 && fixed > 0) *out = fixed;  // MoeGemmParams::fixed_split
  if (threadIdx.x == 0 && fixed <= 0) {
    int best_s = 1;
    int best = INT_MAX;
#pragma unroll
    for (int S = 1; S <= 8; S *= 2) {
      if (W % S != 0) continue;
      const int R = W / S;
      const int items = passes * ((T + R - 1) / R);
      const int per_cta = (items + gridDim.x - 1) / gridDim.x;
      const int J = ((n_it + S - 1) / S + D - 1) / D * D;
      if (per_cta * (J + item_cost) < best) {
        best = per_cta * (J + item_cost);
        best_s = S;
      }
    }
    *out = best_s;
  }
  __syncthreads();
}

// A CTA's run of items of one expert GEMM: its K split chosen, its load cursor set up and its first D ring
// slots issued (start), then the items walked (run).
template <WeightFormat F, Proj P, int W, int D, int NTMAX, bool kPerSlot, bool kBlockCols, bool kSmemRing>
struct MmaRun {
  using Cta = MmaCta<F, P, W, D, NTMAX, kPerSlot, kBlockCols, kSmemRing>;
  Cta c;
  int i0 = 0, ca = 0;
  // The token table (gate_up, no block columns, where the launcher sets MoeGemmParams::table_tokens): every token's
  // input row is staged once, before the kernel's PDL wait (x was written two launches before: moe.h), and a pass's B
  // fragments read its tokens' rows there, so that a pass needs no staging of its own. The rows of a pass's two
  // n-tiles lie any multiple of rs apart, which mma_steps_* take as one distance: 16 tokens at most.
  static constexpr int kTokenTableRows = Cta::kNP < 16 ? Cta::kNP : 16;
  int table_tokens = 0;  // 0: no token table

  __device__ __forceinline__ MmaRun(const MoeGemmParams& p) : c(p) {
    if constexpr (P == Proj::GateUp && !Cta::kBlockColumns && NTMAX <= 2)  // passes of at most two n-tiles
      if (p.table_tokens <= kTokenTableRows) table_tokens = p.table_tokens;
  }

  // Stages the token table (every thread of the CTA; nothing if there is none). The CTA is synchronized before any
  // thread reads it (build_tables ends in a barrier).
  __device__ __forceinline__ void stage_token_table(uint8_t* xs) const {
    if (table_tokens > 0) stage_activations<F, P>(c.p, nullptr, table_tokens, table_tokens, 1.0f, xs);
  }

  // m's tables are built (build_tables); every thread of the CTA calls it.
  __device__ __forceinline__ void start(const MmaSmem& m) {
    const MoeGemmParams& p = c.p;
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
    c.ring = m.ring + threadIdx.x * 16;
    c.xs = m.xs;
    c.red = m.red;
    c.s_pref = m.s_pref;
    c.s_exp = m.s_exp;
    c.s_pair = m.s_pair;
    c.s_wt = m.s_wt;
    c.warp = warp;
    c.lane = lane;
    c.gid = lane / 4;
    c.tig = lane % 4;
    c.rows = p.rows;
    c.nb = p.nb;
    c.nb8 = p.nb * 8;
    c.rs = p.rs;
    c.n_it = (p.nb + 3) / 4;  // k-iterations of a whole row: one 16-byte block per quad thread
    c.T = (p.rows + Cta::kTR - 1) / Cta::kTR;
    // The shared-memory-ring gate_up over short rows (at most 24 k-iterations: Qwen3-30B-A3B's K = 2048) counts 2
    // k-iterations an item. One H200, the same binary with a switch, then against the code before (docs/benchmarks.md,
    // session 38): Qwen3-30B-A3B's step 1.03x at 1 x 9, 1.006x at 8 x 1, 1.06x at 8 x 9 (gate_up 38.9 -> 35.9 and
    // 117.9 -> 95.9 us a launch); costs of 3 and 5 did no better, and forcing any one split on every layer did less
    // well (the passes, so the best split, vary from layer to layer). Not taken: the long rows (the MiMo-V2.5-Pro
    // slice's K = 6144 gained nothing, 0.996-1.00x), the down projections (2, 3 or 5 did not move the step), and the
    // block-column kernel, whose split the one-token kernels reproduce bit for bit.
    const int item_cost = kSmemRing && P == Proj::GateUp && c.n_it <= 24 ? 2 : 0;
    choose_split<W, D>(m.s_misc[0], c.T, c.n_it, item_cost, p.fixed_split, &m.s_misc[1]);
    c.S = m.s_misc[1];
    c.R = W / c.S;
    c.RG = (c.T + c.R - 1) / c.R;
    c.J = ((c.n_it + c.S - 1) / c.S + D - 1) / D * D;  // iterations per item per warp (a multiple of D)
    c.r_local = warp / c.S;
    // Block columns: lane (gid, tig) feeds token gid % 2 into column gid of the B fragment when gid / 2 == tig
    // (columns 2 tig and 2 tig + 1 sum the lane's own blocks), a zero row otherwise (staged rows past the
    // pass's <= 2 tokens, up to 8, are zeros).
    c.brow = c.gid / 2 == c.tig ? c.gid % 2 : 7;
    c.xoff = c.gid * c.rs;  // a pass's own staging: column n of the pass is staged row n
    c.xts = 8 * c.rs;
    c.ks = warp % c.S;
    const int items = m.s_misc[0] * c.RG;  // launch_moe_gemm bounds items * gridDim.x below INT_MAX
    i0 = items * blockIdx.x / gridDim.x;
    c.i1 = items * (blockIdx.x + 1) / gridDim.x;
    if (i0 < c.i1) {
      c.li = i0;
      c.lj = 0;
      c.la = 0;
      c.set_load_item();
      ca = c.la;  // the compute cursor's active-expert index starts where the load cursor's did
#pragma unroll
      for (int d = 0; d < D; ++d) c.issue(d);
      c.advance();
    }
  }

  __device__ __forceinline__ void run(const MmaSmem& m) {
    const MoeGemmParams& p = c.p;
    constexpr int kNP = Cta::kNP;
    const int tid = threadIdx.x;
    int staged_a = -1, staged_q = -1, ntok = 0, tiles = 1;
    bool block_columns = false;
    for (int item = i0; item < c.i1; ++item) {
      const int pi = item / c.RG;
      const int g = static_cast<int>(item - pi * c.RG);
      while (m.s_pref[ca + 1] <= pi) ++ca;
      const int q = static_cast<int>(pi - m.s_pref[ca]);
      if (ca != staged_a || q != staged_q) {
        __syncthreads();  // every warp is done with the previous pass's activations
        ntok = min(kNP, m.s_cnt[ca] - q * kNP);
        tiles = exec_tiles<NTMAX>(ntok);
        block_columns = Cta::kBlockColumns && ntok <= 2;
        for (int n = tid; n < ntok; n += blockDim.x) {
          const int sp = m.s_start[ca] + q * kNP + n;
          const int pr = p.expert_ids != nullptr ? m.r_sorted[sp] : p.pair_index[sp];
          m.s_pair[n] = pr;
          m.s_wt[n] = (P == Proj::Down && p.pair_weight) ? p.pair_weight[pr] : 1.0f;
        }
        __syncthreads();
        if (table_tokens > 0) {
          // Column n of the pass reads its token's row of the table; columns past ntok any row (they are discarded).
          const int n0 = c.gid, n1 = 8 + c.gid;
          const int r0 = n0 < ntok ? m.s_pair[n0] / p.in_row_div : 0;
          const int r1 = n1 < ntok ? m.s_pair[n1] / p.in_row_div : 0;
          c.xoff = r0 * c.rs;
          c.xts = (r1 - r0) * c.rs;
        } else if constexpr (NTMAX <= 2) {
          // Only the pass's tokens are staged, and one zero row where they do not fill the tiles (row zr, the tiles'
          // last): every column past ntok reads it. A column's MMA products depend on its own B column only, so the
          // tokens' bits are those of staging every row. (With more than two n-tiles, whose B rows must lie one
          // distance apart, every row is staged.)
          stage_activations<F, P>(p, m.s_pair, ntok, tiles * 8, block_columns ? 0x1p64f : 1.0f, m.xs, true);
          const int zr = tiles * 8 - 1;
          const int r0 = c.gid < ntok ? c.gid : zr, r1 = 8 + c.gid < ntok ? 8 + c.gid : zr;
          c.xoff = r0 * c.rs;
          c.xts = (r1 - r0) * c.rs;
          c.brow = c.gid / 2 == c.tig && c.gid % 2 < ntok ? c.gid % 2 : zr;
          __syncthreads();
        } else {
          stage_activations<F, P>(p, m.s_pair, ntok, tiles * 8, block_columns ? 0x1p64f : 1.0f, m.xs);
          __syncthreads();
        }
        staged_a = ca;
        staged_q = q;
      }
      const int e = m.s_exp[ca];
      if constexpr (Cta::kBlockColumns) {
        if (block_columns) {
          c.template run_item<1, true>(e, g, ntok);
          continue;
        }
      }
      if constexpr (NTMAX >= 4) {
        if (tiles > 2) {
          c.template run_item<NTMAX, false>(e, g, ntok);
          continue;
        }
      }
      if constexpr (NTMAX >= 2) {
        if (tiles == 2) {
          c.template run_item<2, false>(e, g, ntok);
          continue;
        }
      }
      c.template run_item<1, false>(e, g, ntok);
    }
    if constexpr (kSmemRing) cp_async_wait<0>();  // the cursor's last copies land before the CTA exits
  }
};

template <WeightFormat F, Proj P, int W, int D, int NTMAX, bool kPerSlot, bool kBlockCols, bool kSmemRing>
__global__ void __launch_bounds__(W * 32, 1) moe_mma_kernel(const MoeGemmParams p) {
  // down reads nothing the launch just before (gate_up) writes until it stages its activations: the
  // routing and weights come from two or more launches back (moe.h), so its tables and first weight
  // loads go before the wait (launch.cuh). gate_up's routing is written by the launch just before.
  // gate_up stages its token table (if it has one) before the wait.
  constexpr bool kEarly = P == Proj::Down;
  using Run = MmaRun<F, P, W, D, NTMAX, kPerSlot, kBlockCols, kSmemRing>;
  extern __shared__ __align__(16) uint8_t smem_all[];
  const MmaSmem m = carve_smem<W, NTMAX, kSmemRing ? D : 0>(smem_all, p.rs, p.local_experts, p.n_pairs);
  Run run(p);
  if constexpr (!kEarly) {
    run.stage_token_table(m.xs);
    pdl_enter();
  }
  build_tables<Run::Cta::kNP>(p, m);
  run.start(m);
  if constexpr (kEarly) pdl_enter();

  if constexpr (P == Proj::Down) {
    if (p.expert_ids != nullptr) zero_nonlocal_rows(p, m.r_key);
    else zero_nonlocal_rows(p);
  }
  if (run.i0 >= run.c.i1) return;
  run.run(m);
}

}  // namespace tachyon::cuda::moe_detail
