// The exact FP32-activation linear on the tensor cores (linear_split_x.h says what and why).
#include "kernels/cuda/linear_split_x.h"

#include <cooperative_groups.h>
#include <cuda_bf16.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/ldg_stream.cuh"
#include "kernels/cuda/mma.cuh"

namespace tachyon::cuda {

namespace {

namespace cg = cooperative_groups;

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr int kChunkK = 32;  // k of a chunk: the 4 lanes of a quad take 8 BF16 (16 bytes) of a row each
constexpr int kMaxSplits = 8;  // portable cluster size

struct SplitXArgs {
  const float* x;
  int m, K;
  const uint8_t* w;
  size_t w_stride;
  int rows;
  float* y;
  const float* bias;
  int accumulate;
  int splits;  // CTAs of a cluster (K slices of a row tile)
  int chunks;  // 32-wide chunks of a row: ceil(K / 32)
};

// Two floats as three BF16 pairs whose sums are the floats exactly: hi = bf16(v), mid = bf16(v - hi),
// lo = v - hi - mid. v - hi and (v - hi) - mid are exact (Sterbenz: each part is within a factor 2 of what
// it rounds), and what is left after two 8-bit parts of a 24-bit significand fits in the third. (Values
// above BF16's largest finite, 3.39e38, would round hi to infinity; activations are far below.)
__device__ __forceinline__ void split3(float a, float b, uint32_t& hi, uint32_t& mid, uint32_t& lo) {
  hi = pack_bf16x2(a, b);
  const float2 h = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&hi));
  const float ra = a - h.x, rb = b - h.y;
  mid = pack_bf16x2(ra, rb);
  const float2 md = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&mid));
  lo = pack_bf16x2(ra - md.x, rb - md.y);
}

// Where a thread of a CTA works: its cluster rank, row tile, lane coordinates, the warp's chunks of the row
// ([c0, c0 + nc): the row's chunks dealt out in k order over the tile's S x 8 warps) and the CTA's group of x rows
// (group blockIdx.y of `group` rows).
struct SplitXPlace {
  int S, rank, tile, warp, lane, g, t, c0, nc, row_g, n0, group_rows;
  __device__ SplitXPlace(const SplitXArgs& a, int rank_in_cluster, int group) {
    S = a.splits;
    rank = rank_in_cluster;
    tile = blockIdx.x / S;
    warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    const int gw = rank * kWarps + warp, nw = S * kWarps;
    c0 = gw * a.chunks / nw;
    nc = (gw + 1) * a.chunks / nw - c0;
    row_g = tile * 16 + g;
    n0 = blockIdx.y * group;
    group_rows = min(group, a.m - n0);
  }
  // Whether the lane's 8 values of x row n in chunk c lie inside x (row n0 + nt * 8 + g for n-tile nt).
  __device__ __forceinline__ bool x_valid(const SplitXArgs& a, int c, int n) const {
    return c < nc && n < a.m && (c0 + c) * kChunkK + 8 * t < a.K;
  }
};

// Every weight of the warp's chunks, rows g and g + 8 of its tile: lane t's 8 at k = 32 c + 8 t (issued before the wait).
__device__ __forceinline__ void load_split_x_weights(const SplitXArgs& a, const SplitXPlace& q,
                                                     uint32_t (&wv)[kSplitXMaxChunks][2][4]) {
#pragma unroll
  for (int c = 0; c < kSplitXMaxChunks; ++c)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int row = q.row_g + 8 * h, k = (q.c0 + c) * kChunkK + 8 * q.t;
      wv[c][h][0] = wv[c][h][1] = wv[c][h][2] = wv[c][h][3] = 0u;
      if (c < q.nc && row < a.rows && k < a.K)
        ldg_stream16(a.w + static_cast<size_t>(row) * a.w_stride + 2 * static_cast<size_t>(k), wv[c][h]);
    }
}

// x's 8 values of the lane at (chunk c, row n) as two float4, zeros past the data.
__device__ __forceinline__ void load_split_x_row(const SplitXArgs& a, const SplitXPlace& q, int c, int n, float4 (&xv)[2]) {
  xv[0] = xv[1] = make_float4(0.f, 0.f, 0.f, 0.f);
  if (q.x_valid(a, c, n)) {
    const float4* p = reinterpret_cast<const float4*>(a.x + static_cast<size_t>(n) * a.K + (q.c0 + c) * kChunkK + 8 * q.t);
    xv[0] = p[0];
    xv[1] = p[1];
  }
}

// One chunk of one n-tile: x split into its three BF16 parts, times the chunk's weight fragments (two k16 steps),
// summed by the tensor cores into fresh registers and then added to acc.
__device__ __forceinline__ void split_x_chunk(const uint32_t (&w)[2][4], const float4 (&xv)[2], float (&acc)[4]) {
  uint32_t part[3][4];  // hi, mid, lo; word j = k pair 2j, 2j + 1 of the lane's 8
  const float4 u = xv[0], v = xv[1];
  split3(u.x, u.y, part[0][0], part[1][0], part[2][0]);
  split3(u.z, u.w, part[0][1], part[1][1], part[2][1]);
  split3(v.x, v.y, part[0][2], part[1][2], part[2][2]);
  split3(v.z, v.w, part[0][3], part[1][3], part[2][3]);
  float sum[4];
#pragma unroll
  for (int s = 0; s < 2; ++s) {
    const uint32_t fr[4] = {w[0][2 * s], w[1][2 * s], w[0][2 * s + 1], w[1][2 * s + 1]};
#pragma unroll
    for (int p = 0; p < 3; ++p) {
      if (s == 0 && p == 0) mma_bf16_first(sum, fr, part[p][0], part[p][1]);
      else mma_bf16(sum, fr, part[p][2 * s], part[p][2 * s + 1]);
    }
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) acc[i] += sum[i];
}

// The warps' partials summed in shared memory in warp order, then the cluster's in rank order; each output (with
// bias) written or added once. acc[nt]: rows g (0, 1) and g + 8 (2, 3), tokens nt * 8 + 2t (0, 2) and + 1 (1, 3).
template <int NT>
__device__ __forceinline__ void reduce_split_x(const SplitXArgs& a, const SplitXPlace& q, const float (&acc)[NT][4],
                                               float (&warp_part)[kWarps][NT * 8][16], float (&cta_part)[NT * 8][16],
                                               cg::cluster_group& cluster) {
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) {
    const int tok = nt * 8 + 2 * q.t;
    warp_part[q.warp][tok][q.g] = acc[nt][0];
    warp_part[q.warp][tok + 1][q.g] = acc[nt][1];
    warp_part[q.warp][tok][q.g + 8] = acc[nt][2];
    warp_part[q.warp][tok + 1][q.g + 8] = acc[nt][3];
  }
  __syncthreads();
  for (int i = threadIdx.x; i < NT * 8 * 16; i += kThreads) {
    const int tok = i / 16, r = i % 16;
    float s = 0.0f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) s += warp_part[w][tok][r];
    cta_part[tok][r] = s;
  }
  cluster.sync();
  // The tile's outputs, dealt over the cluster; each sums the CTAs' partials in rank order.
  for (int i = q.rank * kThreads + threadIdx.x; i < q.group_rows * 16; i += q.S * kThreads) {
    const int tok = i / 16, r = i % 16, row = q.tile * 16 + r;
    if (row >= a.rows) continue;
    float s = 0.0f;
    for (int j = 0; j < q.S; ++j) s += cluster.map_shared_rank(&cta_part[0][0], j)[tok * 16 + r];
    if (a.bias) s += a.bias[row];
    float* out = a.y + static_cast<size_t>(q.n0 + tok) * a.rows + row;
    *out = a.accumulate ? *out + s : s;
  }
  cluster.sync();  // peers may still be reading this CTA's partials
}

// NT n-tiles of 8 x rows (tokens). Lane (g, t) = (lane / 4, lane % 4) holds rows g and g + 8 of the tile and, in chunk c,
// their 8 weights at k = 32 c + 8 t .. + 7: word j of that piece is the pair k + 2j, k + 2j + 1. A dot product may take
// its k in any order, so the fragment's slots {2t, 2t+1} / {2t+8, 2t+9} of k16-step s are words 2s / 2s+1 of the lane's
// piece, and the lane's B fragment is x at the same k (its own loads: each x element of the CTA's slice is used by one
// warp only, so nothing is staged in shared memory).
// Up to two n-tiles (16 rows) every x load of the warp is issued at once, after the wait. Beyond (3..kWideMaxTiles
// n-tiles, one group of up to 72 rows rather than groups of 16 along grid y: 72 rows were 5 groups, 960 CTAs for
// MiMo-V2.5-Pro's router, ~4 waves of a short chain each) x is too large for the registers at once: the warp walks
// (chunk, n-tile) units in order with kWideDepth units of loads in flight. Either way each token's chunks, order and
// sums are the same, so its logits are the same bits at any row count.
constexpr int kWideMaxTiles = 9, kWideDepth = 3;
template <int NT>
__global__ void __launch_bounds__(kThreads, 2) linear_split_x_kernel(const SplitXArgs a) {
  constexpr int C = kSplitXMaxChunks;
  __shared__ float warp_part[kWarps][NT * 8][16];
  __shared__ float cta_part[NT * 8][16];
  cg::cluster_group cluster = cg::this_cluster();
  const SplitXPlace q(a, static_cast<int>(cluster.block_rank()), NT * 8);
  uint32_t wv[C][2][4];
  load_split_x_weights(a, q, wv);
  pdl_enter();

  float acc[NT][4];
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) acc[nt][0] = acc[nt][1] = acc[nt][2] = acc[nt][3] = 0.0f;
  if constexpr (NT <= 2) {
    float4 xv[C][NT][2];
#pragma unroll
    for (int c = 0; c < C; ++c)
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) load_split_x_row(a, q, c, q.n0 + nt * 8 + q.g, xv[c][nt]);
#pragma unroll
    for (int c = 0; c < C; ++c) {
      if (c >= q.nc) break;  // the same for the whole warp
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) split_x_chunk(wv[c], xv[c][nt], acc[nt]);
    }
  } else {
    // Unit u = (chunk u / NT, n-tile u % NT); units of chunks past the warp's nc load and compute nothing.
    constexpr int U = C * NT;
    float4 xv[kWideDepth][2];
#pragma unroll
    for (int u = 0; u < kWideDepth; ++u) load_split_x_row(a, q, u / NT, q.n0 + (u % NT) * 8 + q.g, xv[u]);
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int c = u / NT, nt = u % NT;
      if (c < q.nc) split_x_chunk(wv[c], xv[u % kWideDepth], acc[nt]);  // the same for the whole warp
      const int next = u + kWideDepth;
      if (next < U) load_split_x_row(a, q, next / NT, q.n0 + (next % NT) * 8 + q.g, xv[u % kWideDepth]);
    }
  }
  reduce_split_x<NT>(a, q, acc, warp_part, cta_part, cluster);
}

int chunks_of(int K) { return (K + kChunkK - 1) / kChunkK; }

// CTAs a row tile takes: enough that no warp holds more than kSplitXMaxChunks chunks, and up to 8 while
// every warp still gets a chunk (more CTAs in flight for the few tiles of a router).
int splits_for(int K) {
  const int chunks = chunks_of(K);
  int s = 1;
  while (s < kMaxSplits && (2 * s * kWarps <= chunks || s * kWarps * kSplitXMaxChunks < chunks)) s *= 2;
  return s;
}

// The n-tiles of x a CTA takes (its group of rows along grid y), m rows over row tiles x splits CTAs a group: up to 16
// rows, one group; beyond, as few groups as fill one wave of CTAs (two an SM: the launch bounds), each of at least two
// and at most kWideMaxTiles n-tiles. MiMo-V2.5-Pro's router (24 tiles x 8 splits) takes 72 rows in one group of 192
// CTAs, Qwen3-235B-A22B's (8 x 8) in three of 24 rows. One H200, the same binary against groups of 16 rows (the
// kernel before), two rounds (docs/benchmarks.md, session 48): the router's launch 22.3 -> 16.5 us (MiMo slice, 8 x 9)
// and 8.9 -> 6.1 us (Qwen3-235B-A22B slice); the MiMo slice's step 1.023-1.026x at 8 x 9, 1.021x at 4 x 9,
// 1.012-1.018x at 2 x 9, Qwen3-235B-A22B's 1.008-1.009x at 8 x 9, Qwen3-30B-A3B within 0.3%. (Fewer, wider groups
// regardless of the CTA count made Qwen3-235B-A22B's 64-CTA groups 0.977-0.985x at 4 x 9 and 8 x 9.)
int group_tiles_for(int m, int ctas_per_group) {
  if (m <= 16) return (m + 7) / 8;
  const int wave = 2 * device_sm_count();
  int groups = std::max(1, wave / ctas_per_group);
  groups = std::max(groups, (m + 8 * kWideMaxTiles - 1) / (8 * kWideMaxTiles));
  const int rows = (m + groups - 1) / groups;
  return std::min(kWideMaxTiles, std::max(2, (rows + 7) / 8));
}

}  // namespace

bool linear_split_x_applies(const float* x, int m, const DeviceMatrix& w) {
  return m >= kSplitXMinRows && m <= kSplitXMaxRows && linear_split_x_takes(x, w);
}

bool linear_split_x_takes(const float* x, const DeviceMatrix& w) {
  if (w.format != WeightFormat::BF16 || w.rows <= 0) return false;
  if (w.cols <= 0 || w.cols % 8 != 0 || reinterpret_cast<uintptr_t>(x) % 16 != 0) return false;
  if (reinterpret_cast<uintptr_t>(w.data) % 16 != 0 || w.data_row_stride % 16 != 0) return false;
  return chunks_of(w.cols) <= kMaxSplits * kWarps * kSplitXMaxChunks;
}

void linear_split_x(const float* x, int m, const DeviceMatrix& w, float* y, const float* bias, bool accumulate,
                    cudaStream_t stream) {
  CUDA_REQUIRE(m >= 1 && m <= kSplitXMaxRows && linear_split_x_takes(x, w),
               "linear_split_x: rows, shape, format or alignment not taken");
  SplitXArgs a{};
  a.x = x;
  a.m = m;
  a.K = w.cols;
  a.w = w.data;
  a.w_stride = w.data_row_stride;
  a.rows = w.rows;
  a.y = y;
  a.bias = bias;
  a.accumulate = accumulate ? 1 : 0;
  a.splits = splits_for(w.cols);
  a.chunks = chunks_of(w.cols);
  const int tiles = (w.rows + 15) / 16;
  const int group_tiles = group_tiles_for(m, tiles * a.splits);
  const int groups = (m + 8 * group_tiles - 1) / (8 * group_tiles);
  const LaunchShape shape{dim3(static_cast<unsigned>(tiles * a.splits), static_cast<unsigned>(groups)), dim3(kThreads), 0,
                          static_cast<unsigned>(a.splits)};
  switch (group_tiles) {
    case 1: launch(linear_split_x_kernel<1>, shape, stream, a); break;
    case 2: launch(linear_split_x_kernel<2>, shape, stream, a); break;
    case 3: launch(linear_split_x_kernel<3>, shape, stream, a); break;
    case 4: launch(linear_split_x_kernel<4>, shape, stream, a); break;
    case 5: launch(linear_split_x_kernel<5>, shape, stream, a); break;
    case 6: launch(linear_split_x_kernel<6>, shape, stream, a); break;
    case 7: launch(linear_split_x_kernel<7>, shape, stream, a); break;
    case 8: launch(linear_split_x_kernel<8>, shape, stream, a); break;
    default: launch(linear_split_x_kernel<kWideMaxTiles>, shape, stream, a); break;
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace tachyon::cuda
