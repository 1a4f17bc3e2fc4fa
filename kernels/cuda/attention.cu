// Attention over the BF16 KV cache on Hopper (see attention.h for the contract), and the cache write.
//
// Organisation (flash-decoding with the split-K partials combined inside a thread-block cluster):
// - One cluster of C CTAs per (sequence, KV head, block of query rows); its CTAs split the sequence's
//   visible key range [lo, hi] into C contiguous parts (C is chosen on the host from the batch shape so
//   that batch 1 with one KV head still spreads over many SMs). No second kernel: each CTA keeps its
//   partial (max, sum, O) in shared memory and the cluster combines them through distributed shared
//   memory, in rank order (deterministic), adding the sink logit once.
// - Small batches with an AttentionWorkspace: N clusters per row block, the keys in C x N parts. Each
//   cluster's combined rows go to the workspace as records, and the last cluster to arrive (a counter
//   per row block and rank) combines the N records of its rows in cluster order (deterministic).
// - The query rows of a KV head are (query i of the block, query head sharing the KV head), i-major:
//   up to 16 x 16 rows. They are the M side of mma.sync m16n8k16 (BF16 in, FP32 accumulate): a warp
//   owns one 16-row tile. A CTA has 4 warps = RW row tiles x KW key groups (KW = 4 for decode, where
//   one tile holds all rows, and for small launches whose keys cannot be split further: the warps split
//   each key tile instead; FA2-style within a warp).
// - K/V tiles of 64 keys are copied once per CTA into shared memory with cp.async (2-3 stages,
//   16-byte chunks XOR-swizzled so that ldmatrix is conflict free) and read by every warp that needs
//   them: all query heads of the KV head and all queries of a verify block read each tile once.
//   S = Q K^T takes K fragments with ldmatrix; O += P V takes V fragments with ldmatrix.trans, and P
//   goes from the S accumulators to A fragments in registers (no shared-memory round trip).
// - Masking per score: key j is visible to the query at position p iff j <= p (causal) and, with a
//   window W, j > p - W (the block's own keys are already in the cache, so verify blocks are causal
//   inside; non-causal blocks, the drafter's, see every key of the block).
#include <cooperative_groups.h>
#include <cuda_bf16.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "kernels/cuda/attention.h"
#include "kernels/cuda/attention_generic.cuh"
#include "kernels/cuda/batch_invariant.h"
#include "kernels/cuda/cp_async.cuh"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/mma.cuh"

namespace tachyon::cuda {

namespace {

namespace cg = cooperative_groups;

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kTileKeys = 64;
constexpr int kMaxHeads = 256;
constexpr int kMaxCluster = 16;
constexpr float kLog2e = 1.4426950408889634f;
// How far (log2) a tile's scores may pass a row's reference max before the row rescales its O and sum (the
// compute's online softmax; FlashAttention-4's conditional rescaling).
constexpr float kLazyRescaleLog2 = 8.0f;

struct AttnArgs {
  const float* q;
  float* out;
  const __nv_bfloat16* k;
  const __nv_bfloat16* v;
  int capacity, kv_heads;
  const int32_t* slot;
  const int32_t* start;
  const int32_t* count;
  const int32_t* first_row;
  int num_q_heads;
  const int32_t* kv_head_of;
  float scale_log2;  // softmax scale * log2(e): scores live in the log2 domain (exp2)
  int window;
  bool causal;
  const float* sinks;
  int splits;             // CTAs per cluster
  int outer;              // clusters per row block (> 1 only with a workspace)
  float* records;         // AttentionWorkspace: the clusters' partial rows, when outer > 1
  int32_t* arrivals;      // AttentionWorkspace: clusters finished, per (row block, cluster rank)
  int prefetch_old_keys;  // AttentionParams::prefetch_old_keys
};

// a: a shared-memory address (__cvta_generic_to_shared).
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], unsigned a) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(a));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], unsigned a) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(a));
}


// 16-byte chunk c of shared-memory row `row`, XOR-swizzled inside groups of 8 chunks (128 bytes): the
// 8 rows an ldmatrix reads at one logical chunk land on 8 different bank groups.
__device__ __forceinline__ int swz(int row, int c) { return (c & ~7) | ((c ^ row) & 7); }

// Where a lane's ldmatrix rows lie in a tile of C-chunk rows, without swizzle arithmetic a read: the lane reads row
// `row0` + a multiple of 8 (so its swizzle depends on row0 % 8 only) at chunks 2i + b for its fixed b = 0 or 1, and
// chunk 2i + b's place is (2i & ~7) | ((2 (i % 4)) ^ (b ^ row0 % 8)): one base address for each i % 4, the rest a
// constant of the unrolled loop. (Nsight Compute, MiMo-V2.5-Pro's global layer at batch 32: the per-read swizzle
// and address arithmetic were ~55 of the ~140 instructions of a warp's S = Q K^T a tile.)
template <int C>
struct SwizzledReads {
  unsigned b0, b1, b2, b3;  // not an array: one indexed in a loop the compiler does not unroll goes to local memory
  __device__ SwizzledReads(unsigned tile, int row0, int b) {
    const int x = (b ^ row0) & 7;
    const unsigned row = tile + static_cast<unsigned>(row0 * C * 16);
    b0 = row + x * 16, b1 = row + (2 ^ x) * 16, b2 = row + (4 ^ x) * 16, b3 = row + (6 ^ x) * 16;
  }
  // Chunk 2i + b of row row0 + 8 * r8 (i and r8 compile-time constants of unrolled loops), plus `stage` bytes.
  __device__ __forceinline__ unsigned at(unsigned stage, int r8, int i) const {
    const unsigned base = (i & 3) == 0 ? b0 : (i & 3) == 1 ? b1 : (i & 3) == 2 ? b2 : b3;
    return base + stage + static_cast<unsigned>(r8 * 8 * C * 16 + (2 * i & ~7) * 16);
  }
};

// Copies the rows of keys [key0, key0 + kTileKeys) of one KV head, C 16-byte chunks each, into the
// swizzled tile `dst` (rows at or past `ke` are zero-filled). `head` points at the head's row of position
// 0 and rows are `row_elems` apart. A thread always copies the same chunk of every KPP-th row (C rounded
// up to a power of two, so that the assignment is fixed), so each copy's addresses are the previous
// ones plus a constant: the address arithmetic is hoisted out of the copy loop.
template <int C>
__device__ __forceinline__ void copy_tile_rows(__nv_bfloat16* dst, const __nv_bfloat16* head, size_t row_elems, int key0,
                                               int ke) {
  constexpr int CP = C <= 8 ? 8 : C <= 16 ? 16 : 32;
  constexpr int KPP = kThreads / CP;  // rows per pass of the CTA
  static_assert(C <= CP && kTileKeys % KPP == 0 && (KPP == 4 || KPP % 8 == 0), "copy assignment");
  const int c = threadIdx.x % CP, k_first = threadIdx.x / CP;
  if (c >= C) return;
  const __nv_bfloat16* src = head + static_cast<size_t>(key0 + k_first) * row_elems + c * 8;
  const size_t step = KPP * row_elems;
  if (key0 + kTileKeys <= ke) {
    // A whole tile (every tile but a range's last): no row checks, and no swizzle arithmetic a copy. A thread's rows
    // are KPP apart, so their chunk's swizzled place repeats every 8 rows: one shared address for the even passes and
    // one for the odd (they differ only when KPP = 4, by bit 2 of the chunk), each pass a constant further; the
    // global address is one multiply-add a pass. Nsight Compute on MiMo-V2.5-Pro's global layer at batch 32 had put
    // a third of the kernel's executed instructions in the copies' addressing and checks; one H200, this path against
    // the per-row one (docs/benchmarks.md, session 32): the MiMo-V2.5-Pro rows of the attention bench 1.02-1.05x
    // faster, the others within 2%, the step unchanged.
    const unsigned d_even = static_cast<unsigned>(__cvta_generic_to_shared(dst + k_first * (C * 8) + swz(k_first, c) * 8));
    const unsigned d_odd = static_cast<unsigned>(
        __cvta_generic_to_shared(dst + k_first * (C * 8) + swz(k_first + (KPP % 8), c) * 8));
    const unsigned stride_bytes = static_cast<unsigned>(step * sizeof(__nv_bfloat16));
    const char* src_bytes = reinterpret_cast<const char*>(src);
#pragma unroll
    for (int p = 0; p < kTileKeys / KPP; ++p) {
      const unsigned d = ((p & 1) ? d_odd : d_even) + p * KPP * C * 16;
      cp_async16_at(d, src_bytes + static_cast<size_t>(p) * stride_bytes);
    }
    return;
  }
#pragma unroll
  for (int p = 0; p < kTileKeys / KPP; ++p, src += step) {
    const int key = k_first + p * KPP;
    const bool valid = key0 + key < ke;
    // A row past the end copies nothing (src size 0) but still needs a valid address: the tile's first.
    cp_async16(dst + key * (C * 8) + swz(key, c) * 8, valid ? src : head + static_cast<size_t>(key0) * row_elems, valid ? 16 : 0);
  }
}

// The rows a cluster rank finishes: rows rank, rank + C, ... of the CTA's row tiles (my_rows of them).
struct ClusterRows {
  int rank, C, mtile0, rows, G, first_row, my_rows;
};

// Where a CTA's partial rows go when its row block is split over several clusters (AttentionWorkspace):
// record (row block, cluster, row) is kRecordHead floats (max, sum, padding so that O stays 16-byte
// aligned) then the row's DV unnormalised outputs.
constexpr int kRecordHead = 4;
constexpr int kMaxRecordRows = kWarps * 16;
constexpr int kMaxRecordDv = 128;
constexpr int kRecordFloats = kRecordHead + kMaxRecordDv;

// Combines partials (max m_j, sum l_j, unnormalised O_j, in the log2 domain) of n sources for one rank's
// rows, with NMAX >= n a compile-time bound (1, 4, 8 or 16) so that every load of a row or an output quad
// is in flight at once in registers. First one thread per row turns the sources' (max, sum) into a weight
// per source, then each output quad is the weighted sum of the sources' O, in source order whatever the
// timing (deterministic). Final: the sink joins the softmax, O is normalised and goes to `out`. Not final
// (a cluster's share of a row block split over clusters): the record (max, sum, O) goes to `rec`.
// `src` gives m(j, rr), l(j, rr) and o4(j, rr, d) of source j for the CTA's row rr.
template <int NMAX, int DV, bool kFinal, typename Source>
__device__ __forceinline__ void combine_rows(const AttnArgs& a, const ClusterRows& cr, int n, const Source& src, float* rec,
                                             const int* heads, float* row_weight) {
  const int C = cr.C;
  for (int i = threadIdx.x; i < cr.my_rows; i += kThreads) {
    const int rr = cr.rank + i * C, r = cr.mtile0 * 16 + rr;
    float mj[NMAX], lj[NMAX];
#pragma unroll
    for (int j = 0; j < NMAX; ++j) {
      mj[j] = j < n ? src.m(j, rr) : -INFINITY;
      lj[j] = j < n ? src.l(j, rr) : 0.0f;
    }
    const bool sinks = kFinal && a.sinks;
    const float sink = (sinks && r < cr.rows) ? a.sinks[heads[r % cr.G]] * kLog2e : -INFINITY;
    float M = sink;
#pragma unroll
    for (int j = 0; j < NMAX; ++j) M = fmaxf(M, mj[j]);
    const float Mu = M == -INFINITY ? 0.0f : M;
    float L = sinks ? exp2f(sink - Mu) : 0.0f;
#pragma unroll
    for (int j = 0; j < NMAX; ++j) L += exp2f(mj[j] - Mu) * lj[j];
    const float norm = kFinal ? (L > 0.0f ? 1.0f / L : 0.0f) : 1.0f;
#pragma unroll
    for (int j = 0; j < NMAX; ++j)
      if (j < n) row_weight[i * kMaxCluster + j] = exp2f(mj[j] - Mu) * norm;
    if constexpr (!kFinal) rec[rr * kRecordFloats] = M, rec[rr * kRecordFloats + 1] = L;
  }
  __syncthreads();
  constexpr int kQuads = DV / 4;
  for (int idx = threadIdx.x; idx < cr.my_rows * kQuads; idx += kThreads) {
    const int i = idx / kQuads, d = (idx % kQuads) * 4;
    const int rr = cr.rank + i * C, r = cr.mtile0 * 16 + rr;
    if (r >= cr.rows) continue;
    float4 v[NMAX];
#pragma unroll
    for (int j = 0; j < NMAX; ++j)
      if (j < n) v[j] = src.o4(j, rr, d);
    float4 acc = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll
    for (int j = 0; j < NMAX; ++j)
      if (j < n) {
        const float w = row_weight[i * kMaxCluster + j];
        acc.x += w * v[j].x, acc.y += w * v[j].y, acc.z += w * v[j].z, acc.w += w * v[j].w;
      }
    if constexpr (kFinal) {
      const int qi = r / cr.G, h = heads[r % cr.G];
      *reinterpret_cast<float4*>(a.out + (static_cast<size_t>(cr.first_row + qi) * a.num_q_heads + h) * DV + d) = acc;
    } else {
      *reinterpret_cast<float4*>(rec + rr * kRecordFloats + kRecordHead + d) = acc;
    }
  }
}

// Floats between two rows of a CTA's partial O (cw below): DV + 8, so that the float2 stores of a warp's
// accumulators (rows g, lanes' columns 2t) fall on distinct banks in each half-warp. At DV floats a row every
// row starts on bank 0: Nsight Compute (docs/benchmarks.md, session 39's profiles) counted 6.3-6.4-way
// conflicts on the kernel's shared stores, 65-69% of their wavefronts.
template <int DV>
constexpr int partial_row_stride() {
  return DV + 8;
}

// The cluster ranks' partials, read through distributed shared memory: (max, sum) per row in cM/cL, O in cw.
template <int DV>
struct ClusterSource {
  cg::cluster_group& cluster;
  float *cM, *cL, *cw;
  __device__ float m(int j, int rr) const { return cluster.map_shared_rank(cM, j)[rr]; }
  __device__ float l(int j, int rr) const { return cluster.map_shared_rank(cL, j)[rr]; }
  __device__ float4 o4(int j, int rr, int d) const {
    return *reinterpret_cast<const float4*>(cluster.map_shared_rank(cw, j) + rr * partial_row_stride<DV>() + d);
  }
};

// The clusters' records of one row block in the workspace, written by other SMs in this launch: read
// from L2 (ld.cg), never from a stale L1 line of an earlier launch.
struct RecordSource {
  const float* recs;  // cluster j's records at recs + j * kMaxRecordRows * kRecordFloats
  __device__ const float* row(int j, int rr) const { return recs + (static_cast<size_t>(j) * kMaxRecordRows + rr) * kRecordFloats; }
  __device__ float m(int j, int rr) const { return __ldcg(row(j, rr)); }
  __device__ float l(int j, int rr) const { return __ldcg(row(j, rr) + 1); }
  __device__ float4 o4(int j, int rr, int d) const {
    return __ldcg(reinterpret_cast<const float4*>(row(j, rr) + kRecordHead + d));
  }
};

template <int NMAX, int DV, bool kFinal, typename Source>
__device__ void combine_rows_upto(int n, const AttnArgs& a, const ClusterRows& cr, const Source& src, float* rec,
                                  const int* heads, float* row_weight) {
  if (n == 1) combine_rows<1, DV, kFinal>(a, cr, n, src, rec, heads, row_weight);
  else if (n <= 4) combine_rows<4, DV, kFinal>(a, cr, n, src, rec, heads, row_weight);
  else if (n <= 8) combine_rows<8, DV, kFinal>(a, cr, n, src, rec, heads, row_weight);
  else combine_rows<NMAX, DV, kFinal>(a, cr, n, src, rec, heads, row_weight);
}

// Pipeline stages of key tiles a CTA (kTileKeys keys of K and V each): three, but two above 256 dims (K + V: the
// shared memory) and for rows of at most 16 (KW = 4: decode at up to 16 query heads a KV head) at 256 dims (K 128 +
// V 128): 64 KB a CTA, three CTAs an SM (its registers allow three) instead of two at 96 KB, more warps to hide the
// latency chains of the batch-decode launches, whose profile (docs/benchmarks.md, session 39: 2 warps a scheduler,
// 0.23 issued a cycle) was latency-bound. One H200, the same code with two stages everywhere
// against three, in one call: the kernel bench's Qwen3-235B-A22B decode row at batch 32 1.20x (29.6 -> 24.6 us),
// Qwen3-30B-A3B's step 1.06x at 8 x 1; but the verify rows (KW 1-2) lost (Qwen3-235B-A22B verify-9 at batch 8 0.83x,
// Qwen3-30B-A3B 8 x 9 0.988x), and at 128 dims (gpt-oss-120b: 48 KB a CTA, three or more an SM already) two stages
// were 0.97-0.98x at batch 8 and 32: those keep three.
template <int D, int DV, int KW>
constexpr int attn_stages() {
  return (D + DV) <= 128 || ((D + DV) <= 256 && KW < 4) ? 3 : 2;
}

// kAbsoluteTiles (batch invariance, batch_invariant.h; only with KW = 4): key tiles at absolute multiples of kTileKeys,
// tile t to part t mod parts, instead of each part a contiguous share of the row block's visible range. A template
// flag, so that the other instantiations compile as they did (a runtime flag cost some of them registers and spills).
template <int D, int DV, int KW, bool kAbsoluteTiles = false>
__global__ void __launch_bounds__(kThreads) attention_kernel(const AttnArgs a) {
  // With prefetch_old_keys, the cache tiles of keys before the sequence's start (and the head map and
  // the step's metadata) are read before waiting for the kernel before (launch.cuh); q only after.
  const bool early = a.prefetch_old_keys != 0;
  if (!early) pdl_enter();
  constexpr int RW = kWarps / KW;      // 16-row tiles per CTA
  constexpr int BKW = kTileKeys / KW;  // keys of a tile per warp
  constexpr int NJ = BKW / 8;          // S n-tiles per warp
  constexpr int KS = D / 16;           // k-steps of Q K^T
  constexpr int NV = DV / 8;           // O n-tiles
  constexpr int NS = attn_stages<D, DV, KW>();
  constexpr int KC = D / 8, VC = DV / 8;  // 16-byte chunks per key row
  constexpr int kStageElems = kTileKeys * (D + DV);
  static_assert(NJ % 2 == 0 && NV % 2 == 0 && KC % 8 == 0 && VC % 8 == 0, "tile shapes");

  extern __shared__ __align__(128) uint8_t smem[];
  __shared__ int heads[kMaxHeads];
  __shared__ int group_size;
  __shared__ float row_weight[kWarps * 16 * kMaxCluster];  // final combine: weight of each rank, per row

  cg::cluster_group cluster = cg::this_cluster();
  const int C = a.splits;
  const int rank = static_cast<int>(cluster.block_rank());
  const int outer = (blockIdx.x / C) % a.outer;  // this cluster's share of the row block's keys
  const int rb = blockIdx.x / C / a.outer, kvh = blockIdx.y, seq = blockIdx.z;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int rw = warp % RW, kg = warp / RW;

  // The query heads reading this KV head, in head order.
  if (warp == 0) {
    int n = 0;
    for (int base = 0; base < a.num_q_heads; base += 32) {
      const int h = base + lane;
      const bool mine = h < a.num_q_heads && a.kv_head_of[h] == kvh;
      const unsigned mask = __ballot_sync(0xffffffffu, mine);
      if (mine) heads[n + __popc(mask & ((1u << lane) - 1u))] = h;
      n += __popc(mask);
    }
    if (lane == 0) group_size = n;
  }
  const int slot = a.slot[seq], start = a.start[seq], count = a.count[seq], first_row = a.first_row[seq];
  __syncthreads();
  const int G = group_size;
  const int rows = count * G;
  const int mtile0 = rb * RW;
  if (mtile0 * 16 >= rows) {  // the same for every CTA of the cluster
    if (early) pdl_enter();
    return;
  }

  // This CTA's part of the visible keys [lo, hi]: part outer * C + rank of C * outer, its tiles kb + j * tile_step.
  const int hi = start + count - 1;
  const int lo = a.window > 0 ? max(0, start - a.window + 1) : 0;
  const int parts = C * a.outer, part = outer * C + rank;
  int kb, ke, ntiles;
  const int tile_step = kAbsoluteTiles ? parts * kTileKeys : kTileKeys;
  if constexpr (kAbsoluteTiles) {
    // A query meets the same tiles, in the same part and order, whatever block it sits in: the tiles a longer block
    // adds (before its window, after its position) are wholly masked for it and leave its sums as they were.
    const int t_lo = lo / kTileKeys, t_hi = hi / kTileKeys;
    const int t0 = t_lo + ((part - t_lo) % parts + parts) % parts;
    kb = t0 * kTileKeys;
    ke = hi + 1;
    ntiles = t0 <= t_hi ? (t_hi - t0) / parts + 1 : 0;
  } else {
    const int per = ((hi - lo + 1 + parts - 1) / parts + kTileKeys - 1) / kTileKeys * kTileKeys;
    kb = lo + part * per;
    ke = min(hi + 1, kb + per);
    ntiles = kb < ke ? (ke - kb + kTileKeys - 1) / kTileKeys : 0;
  }

  // This warp's rows (g and g + 8 of its tile): query positions, and Q as BF16 A fragments (loaded
  // after the first KV tiles are in flight, so that the two latencies overlap).
  const int mtile = mtile0 + rw;
  const bool warp_active = mtile * 16 < rows;
  int qpos[2];
  bool qvalid[2];
  uint32_t qf[KS][4];
  // Positions of the warp's first and last query (its rows are query-major: row r is query r / G).
  const int q_first_pos = start + mtile * 16 / G;
  const int q_last_pos = start + (min(rows, mtile * 16 + 16) - 1) / G;

  // The KV head's rows of position 0 in this sequence's slot.
  const size_t slot_row0 = static_cast<size_t>(slot) * a.capacity * a.kv_heads + kvh;
  const __nv_bfloat16* k_head = a.k + slot_row0 * D;
  const __nv_bfloat16* v_head = a.v + slot_row0 * DV;
  auto load_tile = [&](int j, int st) {
    __nv_bfloat16* ks_ = reinterpret_cast<__nv_bfloat16*>(smem) + static_cast<size_t>(st) * kStageElems;
    const int key0 = kb + j * tile_step;
    copy_tile_rows<KC>(ks_, k_head, static_cast<size_t>(a.kv_heads) * D, key0, ke);
    copy_tile_rows<VC>(ks_ + kTileKeys * D, v_head, static_cast<size_t>(a.kv_heads) * DV, key0, ke);
  };

  float o[NV][4];
#pragma unroll
  for (int i = 0; i < NV; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.0f;
  float m_run[2] = {-INFINITY, -INFINITY}, l_run[2] = {0.0f, 0.0f};

  // The lane's ldmatrix reads of a stage's K (row key, chunk 2 ks + (mi & 1)) and V (chunk 2 dp + (mi >> 1)).
  const int mi = lane / 8, rr = lane % 8;
  const unsigned smem_base = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  const SwizzledReads<KC> k_reads(smem_base, kg * BKW + (mi >> 1) * 8 + rr, mi & 1);
  const SwizzledReads<VC> v_reads(smem_base + kTileKeys * D * 2, kg * BKW + (mi & 1) * 8 + rr, mi >> 1);
  auto compute = [&](int j, int st) {
    const unsigned stage = static_cast<unsigned>(st * kStageElems * 2);
    // S = Q K^T over this warp's BKW keys.
    float s[NJ][4];
#pragma unroll
    for (int i = 0; i < NJ; ++i) s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.0f;
#pragma unroll
    for (int ks = 0; ks < KS; ++ks)
#pragma unroll
      for (int jp = 0; jp < NJ / 2; ++jp) {
        uint32_t b[4];  // keys kg * BKW + (2 jp + (mi >> 1)) * 8 + rr, chunk 2 ks + (mi & 1)
        ldmatrix_x4(b, k_reads.at(stage, 2 * jp, ks));
        mma_bf16(s[2 * jp], qf[ks], b[0], b[1]);
        mma_bf16(s[2 * jp + 1], qf[ks], b[2], b[3]);
      }
    // Mask, scale, online softmax (rows g and g + 8; the 4 lanes of a row group share a row). Most
    // tiles are visible to every row of the warp whole (all but the last of a causal range and the first
    // of a window): those skip the per-score mask. Rows past `rows` then score against zero queries;
    // they are never written.
    const int key_lo = kb + j * tile_step + kg * BKW;
    const bool all_visible = key_lo + BKW <= ke && (!a.causal || key_lo + BKW - 1 <= q_first_pos) &&
                             (a.window <= 0 || key_lo > q_last_pos - a.window);
    float mx[2] = {-INFINITY, -INFINITY};
    if (all_visible) {
#pragma unroll
      for (int jn = 0; jn < NJ; ++jn)
#pragma unroll
        for (int c = 0; c < 4; ++c) {
          mx[c / 2] = fmaxf(mx[c / 2], s[jn][c]);
        }
    } else {
      const int key_base = key_lo + 2 * t;
#pragma unroll
      for (int jn = 0; jn < NJ; ++jn)
#pragma unroll
        for (int c = 0; c < 4; ++c) {
          const int h2 = c / 2, key = key_base + jn * 8 + (c & 1), p = qpos[h2];
          const bool vis = qvalid[h2] && key < ke && (!a.causal || key <= p) && (a.window <= 0 || key > p - a.window);
          s[jn][c] = vis ? s[jn][c] : -INFINITY;
          mx[h2] = fmaxf(mx[h2], s[jn][c]);
        }
    }
    // The scores stay unscaled until the exponent (one FFMA there folds the scale in): the scale is positive, so the
    // row's largest raw score is the largest scaled one.
    float m_use[2], corr[2];
#pragma unroll
    for (int h2 = 0; h2 < 2; ++h2) {
      mx[h2] = fmaxf(mx[h2], __shfl_xor_sync(0xffffffffu, mx[h2], 1));
      mx[h2] = fmaxf(mx[h2], __shfl_xor_sync(0xffffffffu, mx[h2], 2));
      mx[h2] *= a.scale_log2;
      // Lazy rescaling: a row keeps its reference max m_run until a tile's scores pass it by more than
      // kLazyRescaleLog2, so P = exp2(s - m_run) <= 2^kLazyRescaleLog2 (exact enough in FP32 sums and BF16 P: the
      // relative precision is the same at any magnitude). O, l and m_run stay consistent either way, and the
      // combines weight each part by its own m_run. A row's choice depends on its own scores only (batch invariance).
      const bool raise = mx[h2] > m_run[h2] + kLazyRescaleLog2;  // a row's first visible tile: -inf + 8 = -inf
      const float m_new = raise ? mx[h2] : m_run[h2];
      m_use[h2] = m_new == -INFINITY ? 0.0f : m_new;  // a row with nothing visible yet stays at zero
      corr[h2] = raise ? exp2f(m_run[h2] - m_use[h2]) : 1.0f;
      m_run[h2] = m_new;
      l_run[h2] *= corr[h2];
    }
    // Most tiles leave every row's reference max as it was: then O needs no rescaling.
    if (__any_sync(0xffffffffu, corr[0] != 1.0f || corr[1] != 1.0f)) {
#pragma unroll
      for (int nv = 0; nv < NV; ++nv) o[nv][0] *= corr[0], o[nv][1] *= corr[0], o[nv][2] *= corr[1], o[nv][3] *= corr[1];
    }
#pragma unroll
    for (int jn = 0; jn < NJ; ++jn)
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        s[jn][c] = exp2f(fmaf(s[jn][c], a.scale_log2, -m_use[c / 2]));
        l_run[c / 2] += s[jn][c];
      }
    // O += P V: P's A fragments are the S accumulators of two adjacent n-tiles.
#pragma unroll
    for (int kc = 0; kc < BKW / 16; ++kc) {
      const uint32_t pa[4] = {pack_bf16x2(s[2 * kc][0], s[2 * kc][1]), pack_bf16x2(s[2 * kc][2], s[2 * kc][3]),
                              pack_bf16x2(s[2 * kc + 1][0], s[2 * kc + 1][1]),
                              pack_bf16x2(s[2 * kc + 1][2], s[2 * kc + 1][3])};
#pragma unroll
      for (int dp = 0; dp < NV / 2; ++dp) {
        uint32_t b[4];  // keys kg * BKW + 16 kc + (mi & 1) * 8 + rr, chunk 2 dp + (mi >> 1)
        ldmatrix_x4_trans(b, v_reads.at(stage, 2 * kc, dp));
        mma_bf16(o[2 * dp], pa, b[0], b[1]);
        mma_bf16(o[2 * dp + 1], pa, b[2], b[3]);
      }
    }
  };

  // ---- pipeline over this CTA's key tiles ----
  int st0 = 0;  // the first pipeline stage loaded after the wait
  if (early) {
    for (; st0 < NS - 1 && st0 < ntiles && min(ke, kb + st0 * tile_step + kTileKeys) <= start; ++st0) {
      load_tile(st0, st0);
      cp_async_commit();
    }
    pdl_enter();
  }
  for (int st = st0; st < NS - 1; ++st) {
    if (st < ntiles) load_tile(st, st);
    cp_async_commit();
  }
  {
    const float* qr[2];
#pragma unroll
    for (int h2 = 0; h2 < 2; ++h2) {
      const int r = mtile * 16 + g + 8 * h2;
      qvalid[h2] = r < rows;
      const int qi = qvalid[h2] ? r / G : 0, hg = qvalid[h2] ? r % G : 0;
      qpos[h2] = start + qi;
      qr[h2] = qvalid[h2] ? a.q + (static_cast<size_t>(first_row + qi) * a.num_q_heads + heads[hg]) * D : nullptr;
    }
#pragma unroll
    for (int ks = 0; ks < KS; ++ks)
#pragma unroll
      for (int half = 0; half < 2; ++half)    // k slots 2t.. (a0, a1) and 2t + 8.. (a2, a3)
#pragma unroll
        for (int h2 = 0; h2 < 2; ++h2) {  // rows g (a0, a2) and g + 8 (a1, a3)
          float2 v = make_float2(0.0f, 0.0f);
          if (qr[h2]) v = *reinterpret_cast<const float2*>(qr[h2] + 16 * ks + 8 * half + 2 * t);
          qf[ks][2 * half + h2] = pack_bf16x2(v.x, v.y);
        }
  }
  for (int j = 0; j < ntiles; ++j) {
    const int jn = j + NS - 1;
    if (jn < ntiles) load_tile(jn, jn % NS);
    cp_async_commit();
    cp_async_wait<NS - 1>();
    __syncthreads();
    if (warp_active) compute(j, j % NS);
    __syncthreads();
  }
  cp_async_wait<0>();
  __syncthreads();

  // ---- combine: the KW key groups of a row tile, then the cluster's ranks ----
  constexpr int kRowStride = partial_row_stride<DV>();
  static_assert((kWarps * 16 * (kRowStride + 2) + RW * 16 * 2) * 4 <= NS * kStageElems * 2,
                "the combine's partials fit in the pipeline stages");
  float* cw = reinterpret_cast<float*>(smem);  // [kWarps][16][kRowStride]
  float* cm = cw + kWarps * 16 * kRowStride;   // [kWarps][16]
  float* cl = cm + kWarps * 16;
  float* cM = cl + kWarps * 16;  // [RW][16]: combined over key groups
  float* cL = cM + RW * 16;
#pragma unroll
  for (int h2 = 0; h2 < 2; ++h2) {
    l_run[h2] += __shfl_xor_sync(0xffffffffu, l_run[h2], 1);
    l_run[h2] += __shfl_xor_sync(0xffffffffu, l_run[h2], 2);
    const int row = g + 8 * h2;
#pragma unroll
    for (int nv = 0; nv < NV; ++nv)
      *reinterpret_cast<float2*>(cw + (warp * 16 + row) * kRowStride + nv * 8 + 2 * t) =
          make_float2(o[nv][2 * h2], o[nv][2 * h2 + 1]);
    if (t == 0) {
      cm[warp * 16 + row] = warp_active ? m_run[h2] : -INFINITY;
      cl[warp * 16 + row] = warp_active ? l_run[h2] : 0.0f;
    }
  }
  __syncthreads();
  if constexpr (KW > 1) {
    // Every output element is KW multiply-adds of float4s in key-group order, each weighted by exp2 of the key group's
    // max against the row's; each thread works its rows' weights out itself (a few exp2), so no pass and barrier of
    // their own; the thread of a row's first quad also keeps the row's (max, sum) for the cluster's combine.
    constexpr int kQuadsKw = DV / 4;
    for (int idx = threadIdx.x; idx < RW * 16 * kQuadsKw; idx += kThreads) {
      const int rr = idx / kQuadsKw, d = (idx % kQuadsKw) * 4;  // rr = row-tile * 16 + row
      float M = -INFINITY;
#pragma unroll
      for (int k = 0; k < KW; ++k) M = fmaxf(M, cm[k * RW * 16 + rr]);
      const float Mu = M == -INFINITY ? 0.0f : M;
      float4 acc = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      float L = 0.0f;
#pragma unroll
      for (int k = 0; k < KW; ++k) {  // key group k's warp of this row tile: k * RW + tile
        const float w = exp2f(cm[k * RW * 16 + rr] - Mu);
        L += w * cl[k * RW * 16 + rr];
        const float4 v = *reinterpret_cast<const float4*>(cw + (k * RW * 16 + rr) * kRowStride + d);
        acc.x += w * v.x, acc.y += w * v.y, acc.z += w * v.z, acc.w += w * v.w;
      }
      *reinterpret_cast<float4*>(cw + rr * kRowStride + d) = acc;  // key group 0's slot; only this thread touches it
      if (d == 0) cM[rr] = M, cL[rr] = L;
    }
  } else {
    for (int rr = threadIdx.x; rr < RW * 16; rr += kThreads) cM[rr] = cm[rr], cL[rr] = cl[rr];
  }
  cluster.sync();

  // Rank r finishes rows r, r + C, ... of the CTA's row tiles from every rank's partials (below).
  const ClusterRows cr{rank, C, mtile0, rows, G, first_row, (RW * 16 - rank + C - 1) / C};
  const ClusterSource<DV> ranks{cluster, cM, cL, cw};
  if (a.outer == 1) {
    combine_rows_upto<kMaxCluster, DV, true>(C, a, cr, ranks, nullptr, heads, row_weight);
    cluster.sync();  // peers may still be reading this CTA's partials
    return;
  }
  // Split over clusters: this cluster's rows become records; the last cluster of the row block to
  // finish a rank's rows combines the records of every cluster (with the sink) into the output.
  const int block = (seq * a.kv_heads + kvh) * (gridDim.x / (C * a.outer)) + rb;
  float* recs = a.records + static_cast<size_t>(block) * a.outer * kMaxRecordRows * kRecordFloats;
  combine_rows_upto<kMaxCluster, DV, false>(C, a, cr, ranks, recs + static_cast<size_t>(outer) * kMaxRecordRows * kRecordFloats,
                                            heads, row_weight);
  // The arrival: after the CTA's barrier (every thread's records are ordered before it) one thread's GPU-scope
  // fence publishes the CTA's records, as cooperative groups' grid barrier does; the last arriver's fence orders
  // its reads after the others'. The cluster's barrier (peers done reading this CTA's partials) is only waited for
  // at the end, so that its latency overlaps the arrival and the last cluster's combine.
  cluster.barrier_arrive();
  __syncthreads();
  __shared__ bool last;
  if (threadIdx.x == 0) {
    int32_t* arrived = a.arrivals + block * C + rank;
    __threadfence();
    last = atomicAdd(arrived, 1) == a.outer - 1;
    if (last) *arrived = 0;  // ready for the next launch (launches are ordered)
    __threadfence();
  }
  __syncthreads();
  if (last) combine_rows_upto<kMaxCluster, DV, true>(a.outer, a, cr, RecordSource{recs}, nullptr, heads, row_weight);
  cluster.barrier_wait();  // no CTA leaves while a peer may still read its partials
}

__global__ void kv_write_kernel(const float* k, const float* v, const int32_t* row_slot, const int32_t* row_pos, int m,
                                KvCacheView c) {
  pdl_enter();  // launch.cuh: before any global memory access
  const size_t k_row = static_cast<size_t>(c.kv_heads) * c.head_dim, v_row = static_cast<size_t>(c.kv_heads) * c.v_head_dim;
  const size_t nk = static_cast<size_t>(m) * k_row, total = nk + static_cast<size_t>(m) * v_row;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const bool is_k = i < nk;
    const size_t j = is_k ? i : i - nk, row_len = is_k ? k_row : v_row;
    const size_t r = j / row_len, e = j % row_len;
    const int slot = row_slot[r], pos = row_pos[r];
    if (slot < 0 || pos < 0 || pos >= c.capacity) continue;
    const size_t dst = (static_cast<size_t>(slot) * c.capacity + pos) * row_len + e;
    if (is_k) c.k[dst] = __float2bfloat16_rn(k[j]);
    else c.v[dst] = __float2bfloat16_rn(v[j]);
  }
}

// ---- host side ----

struct AttnKernel {
  const void* fn = nullptr;
  size_t smem = 0;
  int max_cluster = 8;
  int resident_clusters = 0;  // clusters of max_cluster CTAs the device holds at once
};

template <int D, int DV, int KW, bool kAbsoluteTiles = false>
AttnKernel attn_kernel() {
  constexpr int NS = attn_stages<D, DV, KW>();
  AttnKernel k;
  k.fn = reinterpret_cast<const void*>(&attention_kernel<D, DV, KW, kAbsoluteTiles>);
  k.smem = static_cast<size_t>(NS) * kTileKeys * (D + DV) * sizeof(__nv_bfloat16);
  static int max_cluster = 0;  // once per instantiation: how large a cluster the device can co-schedule
  static int resident_clusters = 0;
  if (max_cluster == 0) {
    CUDA_CHECK(cudaFuncSetAttribute(k.fn, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(k.smem)));
    CUDA_CHECK(cudaFuncSetAttribute(k.fn, cudaFuncAttributeNonPortableClusterSizeAllowed, 1));
    max_cluster = 8;
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = dim3(16, 1, 1);
    cfg.blockDim = dim3(kThreads, 1, 1);
    cfg.dynamicSmemBytes = k.smem;
    cudaLaunchAttribute attr[1];
    attr[0].id = cudaLaunchAttributeClusterDimension;
    attr[0].val.clusterDim.x = 16;
    attr[0].val.clusterDim.y = 1;
    attr[0].val.clusterDim.z = 1;
    cfg.attrs = attr;
    cfg.numAttrs = 1;
    int clusters = 0;
    // 16-CTA clusters (non-portable) only where asked for: they co-schedule poorly (whole GPCs).
    const char* env = std::getenv("TACHYON_ATTENTION_MAX_CLUSTER");
    const bool want16 = env && std::atoi(env) >= 16;
    if (want16 && cudaOccupancyMaxActiveClusters(&clusters, k.fn, &cfg) == cudaSuccess && clusters > 0) max_cluster = 16;
    cudaGetLastError();  // a refusal above is an answer, not an error
    attr[0].val.clusterDim.x = max_cluster;
    cfg.gridDim = dim3(max_cluster, 1, 1);
    if (cudaOccupancyMaxActiveClusters(&clusters, k.fn, &cfg) == cudaSuccess) resident_clusters = clusters;
    cudaGetLastError();
  }
  k.max_cluster = max_cluster;
  k.resident_clusters = resident_clusters;
  return k;
}

// absolute_tiles: the kernel with kAbsoluteTiles (batch invariance), built with four key groups only.
template <int D, int DV>
AttnKernel attn_kernel_kw(int kw, bool absolute_tiles) {
  if (absolute_tiles) return kw == 4 ? attn_kernel<D, DV, 4, true>() : AttnKernel{};
  switch (kw) {
    case 4: return attn_kernel<D, DV, 4>();
    case 2: return attn_kernel<D, DV, 2>();
    default: return attn_kernel<D, DV, 1>();
  }
}

AttnKernel attn_kernel_for(int d, int dv, int kw, bool absolute_tiles = false) {
  if (d == 64 && dv == 64) return attn_kernel_kw<64, 64>(kw, absolute_tiles);
  if (d == 128 && dv == 128) return attn_kernel_kw<128, 128>(kw, absolute_tiles);
  if (d == 192 && dv == 128) return attn_kernel_kw<192, 128>(kw, absolute_tiles);
  if (d == 128 && dv == 64) return attn_kernel_kw<128, 64>(kw, absolute_tiles);
  if (d == 192 && dv == 64) return attn_kernel_kw<192, 64>(kw, absolute_tiles);
  if (d == 64 && dv == 128) return attn_kernel_kw<64, 128>(kw, absolute_tiles);
  return {};
}

// The split attention_split() reports, and the kernel instantiation that runs it (null: the generic kernel).
struct AttnPlan {
  AttentionSplit split;
  AttnKernel kernel;
};

AttnPlan plan_attention(const AttentionBatch& batch, const KvCacheView& cache, const AttentionParams& p) {
  AttnPlan plan;
  AttentionSplit& sp = plan.split;
  if (batch.num_seqs <= 0 || batch.max_count <= 0 || p.num_q_heads <= 0 || cache.kv_heads <= 0) return plan;
  const int group = p.max_group > 0 ? p.max_group : (p.num_q_heads + cache.kv_heads - 1) / cache.kv_heads;
  const int rows = batch.max_count * group;
  // Row blocks at kw key groups a CTA (16 * 4 / kw rows each), and those of the whole launch (every
  // sequence and KV head).
  auto row_blocks_at = [&](int kw) {
    const int rows_per_cta = 16 * (kWarps / kw);
    return (rows + rows_per_cta - 1) / rows_per_cta;
  };
  auto launch_row_blocks = [&](int row_blocks) { return static_cast<long>(batch.num_seqs) * cache.kv_heads * row_blocks; };
  // Key groups: up to 16 rows all 4 warps split the keys of the CTA's one row tile, up to 32 two; beyond, one, in
  // 64-row blocks, except where that leaves a second block at most half full (65-96 rows: a verify block of 9
  // queries at 8 query heads a KV head, 72): two key groups then, in 32-row blocks (72 rows: 32 + 32 + 8 instead of
  // 64 + 8), more CTAs with half the rows each. One H200 (docs/benchmarks.md, session 38), the same binary with a
  // switch, then against the rule before built in the same call: Qwen3-30B-A3B's step 1.007x at 1 x 9 and 1.015x at
  // 8 x 9. A whole 64-row block keeps one key group: the drafter's 8 queries x 8 heads took 0.98-0.99x with two
  // (two blocks, each reading every key). Four key groups (five 16-row blocks) were 0.99x and 0.95x at 72 rows.
  sp.key_groups = rows <= 16 ? 4 : rows <= 32 ? 2 : rows > 64 && rows <= 96 ? 2 : 1;
  // Batch invariance (batch_invariant.h): a row's sums depend on its key groups and on the parts of its keys, so
  // both are fixed: 16 rows a CTA (four key groups) at any row count, and a cluster size set by the cache alone (the
  // rule below for one row block a KV head, at least one key tile a rank; the keys then dealt out by absolute tile).
  const bool invariant = batch_invariant();
  if (invariant) sp.key_groups = kWarps;
  sp.row_blocks = row_blocks_at(sp.key_groups);
  plan.kernel = attn_kernel_for(cache.head_dim, cache.v_head_dim, sp.key_groups, invariant);
  const AttnKernel& k = plan.kernel;
  if (k.fn == nullptr) return plan;  // head dims the tuned kernel is not built for: the generic kernel
  sp.tuned = true;
  if (invariant) {
    const long keys = p.window > 0 ? std::min<long>(p.window + kMaxQueriesPerCall - 1, cache.capacity) : cache.capacity;
    const long key_limit = std::max<long>(1, (keys + kTileKeys - 1) / kTileKeys);
    while (sp.cluster < k.max_cluster && cache.kv_heads * sp.cluster < 2L * device_sm_count() && sp.cluster * 2 <= key_limit)
      sp.cluster *= 2;
    return plan;
  }

  // Cluster size: enough CTAs to cover the SMs twice (two fit per SM), but each rank with >= 2 key tiles
  // of the longest possible range (the cache capacity for full attention), or >= 1 under a sliding window
  // (window + queries - 1 keys at most). The window's bound: MiMo-V2.5-Pro's 128-key window at decode then
  // takes a 2-CTA cluster instead of one CTA. One H200 (docs/benchmarks.md, session 19), same binary: the
  // MiMo slice's step 1.016x at 1 x 1 and 1.009x at 8 x 1, its verify shapes and Qwen3-30B-A3B's (full
  // attention) unchanged.
  long base = launch_row_blocks(sp.row_blocks);
  const long keys = p.window > 0 ? std::min<long>(p.window + batch.max_count - 1, cache.capacity) : cache.capacity;
  const long rank_keys = (p.window > 0 ? 1 : 2) * kTileKeys;
  const int key_limit = static_cast<int>(std::max<long>(1, (keys + rank_keys - 1) / rank_keys));
  while (sp.cluster < k.max_cluster && base * sp.cluster < 2L * device_sm_count() && sp.cluster * 2 <= key_limit) sp.cluster *= 2;
  // Keys too few to split further (a window, a short context; the cluster stopped below its largest
  // size) leave a small launch: its row blocks get smaller instead (more key groups a CTA, 16 * 4 /
  // key_groups rows), so that more CTAs share a verify block's rows, while the launch stays within one CTA
  // an SM. One H200 (docs/benchmarks.md, session 16), against the rule without this: MiMo-V2.5-Pro's SWA
  // layer at 9 queries 1.29x faster at batch 1 (4 CTAs -> 16), 1.16x at batch 8 (a bound of half the SMs
  // kept batch 8 as it was), every other attention row unchanged; the MiMo slice's step 1.027x at 1 x 8,
  // 1.008x at 8 x 8; Qwen3-30B-A3B's (full attention) 1.00x at a 4k context, 1.024x at 1 x 8 at a 512 one.
  if (sp.cluster * 2 > key_limit && sp.cluster < k.max_cluster) {
    const long bound = device_sm_count();
    int kw = sp.key_groups;
    while (kw < kWarps && launch_row_blocks(row_blocks_at(2 * kw)) * sp.cluster <= bound) kw *= 2;
    if (kw != sp.key_groups) {
      sp.key_groups = kw;
      sp.row_blocks = row_blocks_at(kw);
      plan.kernel = attn_kernel_for(cache.head_dim, cache.v_head_dim, kw);
      base = launch_row_blocks(sp.row_blocks);
    }
  }
  // Full clusters and still few CTAs (small batches, few KV heads): split the keys over several
  // clusters too, combined through the workspace, as long as every cluster of the launch is resident
  // at once (a second wave costs more than the split saves) and each CTA keeps a key tile. Measured on
  // an H200 (docs/benchmarks.md, session 9): attention at batch 1 and a 4k context 1.3-1.6x faster, at
  // batch 8 up to 1.1x slower; the whole step 1.03-1.06x faster at batch 1 and unchanged at batch 8.
  // Stopping at half the resident clusters kept batch 8 but halved the step's gain at batch 1.
  if (p.workspace && cache.v_head_dim <= kMaxRecordDv && sp.cluster == k.max_cluster &&
      base * sp.cluster <= p.workspace->counters()) {
    const long tile_limit = std::max<long>(1, (keys + kTileKeys - 1) / kTileKeys);
    while (sp.clusters * 2 <= kMaxCluster && base * sp.clusters * 2 <= k.resident_clusters &&
           sp.cluster * sp.clusters * 2 <= tile_limit && base * sp.clusters * 2 <= p.workspace->record_blocks())
      sp.clusters *= 2;
  }
  return plan;
}

}  // namespace

// Records for as many (row block, cluster) pairs as there are SMs, and counters for 4 CTAs per SM. The
// planner (plan_attention) splits over clusters only while every cluster of the launch is resident at
// once (30 clusters of 8 on an H200), far below both, and checks both.
AttentionWorkspace::AttentionWorkspace()
    : records_(static_cast<size_t>(device_sm_count()) * kMaxRecordRows * kRecordFloats),
      arrivals_(static_cast<size_t>(4) * device_sm_count()) {
  CUDA_CHECK(cudaMemset(arrivals_.get(), 0, arrivals_.bytes()));
  finish_setup_copies();
}

int AttentionWorkspace::record_blocks() const {
  return static_cast<int>(records_.size() / (static_cast<size_t>(kMaxRecordRows) * kRecordFloats));
}

void kv_write(const float* k, const float* v, const int32_t* row_slot, const int32_t* row_pos, int m,
              const KvCacheView& cache, cudaStream_t stream) {
  if (m <= 0) return;
  const size_t total = static_cast<size_t>(m) * cache.kv_heads * (cache.head_dim + cache.v_head_dim);
  const int blocks = static_cast<int>(std::min<size_t>((total + 255) / 256, 4096));
  launch(kv_write_kernel, {dim3(blocks), dim3(256)}, stream, k, v, row_slot, row_pos, m, cache);
  CUDA_CHECK_LAUNCH();
}

AttentionSplit attention_split(const AttentionBatch& batch, const KvCacheView& cache, const AttentionParams& p) {
  return plan_attention(batch, cache, p).split;
}

void attention(const float* q, const AttentionBatch& batch, const KvCacheView& cache, const AttentionParams& p,
               float* out, cudaStream_t stream) {
  if (batch.num_seqs <= 0 || batch.max_count <= 0 || p.num_q_heads <= 0) return;
  CUDA_REQUIRE(batch.max_count <= kMaxQueriesPerCall, "attention: at most kMaxQueriesPerCall (16) queries per sequence");
  CUDA_REQUIRE(p.num_q_heads <= kMaxHeads, "attention: at most 256 query heads");
  CUDA_REQUIRE(p.scale > 0.0f, "attention: the softmax scale must be positive (the kernel takes maxima of unscaled scores)");
  CUDA_REQUIRE(cache.kv_heads > 0 && batch.num_seqs <= 65535 && cache.kv_heads <= 65535, "attention: grid limits");
  const AttnPlan plan = plan_attention(batch, cache, p);
  const AttentionSplit& sp = plan.split;
  if (!sp.tuned) {
    attention_generic(q, batch, cache, p, out, stream);
    return;
  }
  const AttnKernel& k = plan.kernel;
  const int splits = sp.cluster, outer = sp.clusters, row_blocks = sp.row_blocks;

  AttnArgs a{};
  a.q = q;
  a.out = out;
  a.k = cache.k;
  a.v = cache.v;
  a.capacity = cache.capacity;
  a.kv_heads = cache.kv_heads;
  a.slot = batch.slot;
  a.start = batch.start;
  a.count = batch.count;
  a.first_row = batch.first_row;
  a.num_q_heads = p.num_q_heads;
  a.kv_head_of = p.kv_head_of;
  a.scale_log2 = p.scale * kLog2e;
  a.window = p.window;
  a.causal = p.causal;
  a.sinks = p.sinks;
  a.splits = splits;
  a.outer = outer;
  a.records = outer > 1 ? p.workspace->records() : nullptr;
  a.arrivals = outer > 1 ? p.workspace->arrivals() : nullptr;
  a.prefetch_old_keys = p.prefetch_old_keys ? 1 : 0;

  const LaunchShape shape{dim3(static_cast<unsigned>(row_blocks * splits * outer), static_cast<unsigned>(cache.kv_heads),
                               static_cast<unsigned>(batch.num_seqs)),
                          dim3(kThreads), k.smem, static_cast<unsigned>(splits)};
  void* params[] = {&a};
  launch_untyped(k.fn, shape, stream, params);
  CUDA_CHECK_LAUNCH();
}

}  // namespace tachyon::cuda
