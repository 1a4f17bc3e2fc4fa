// The exact FP32-activation linear on the tensor cores (linear_split_x.h says what and why).
#include "kernels/cuda/linear_split_x.h"

#include <cooperative_groups.h>
#include <cuda_bf16.h>

#include <cstdint>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/launch.cuh"
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

// NT n-tiles of 8 x rows (tokens). Lane (g, t) = (lane / 4, lane % 4) holds rows g and g + 8 of the tile and,
// in chunk c, their 8 weights at k = 32 c + 8 t .. + 7: word j of that piece is the pair k + 2j, k + 2j + 1. A
// dot product may take its k in any order, so the fragment's slots {2t, 2t+1} / {2t+8, 2t+9} of k16-step s are
// words 2s / 2s+1 of the lane's piece, and the lane's B fragment is x at the same k (its own loads: each x
// element of the CTA's slice is used by one warp only, so nothing is staged in shared memory).
template <int NT>
__global__ void __launch_bounds__(kThreads, 2) linear_split_x_kernel(const SplitXArgs a) {
  constexpr int C = kSplitXMaxChunks;
  __shared__ float warp_part[kWarps][NT * 8][16];
  __shared__ float cta_part[NT * 8][16];
  cg::cluster_group cluster = cg::this_cluster();
  const int S = a.splits, rank = static_cast<int>(cluster.block_rank());
  const int tile = blockIdx.x / S;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  // The row's chunks dealt out in k order over the tile's S x 8 warps.
  const int gw = rank * kWarps + warp, nw = S * kWarps;
  const int c0 = gw * a.chunks / nw, nc = (gw + 1) * a.chunks / nw - c0;
  const int row_g = tile * 16 + g;
  // This CTA's rows of x: group blockIdx.y of NT * 8 (one group up to 16 rows).
  const int n0 = blockIdx.y * NT * 8, group_rows = min(NT * 8, a.m - n0);

  uint32_t wv[C][2][4];
#pragma unroll
  for (int c = 0; c < C; ++c)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int row = row_g + 8 * h, k = (c0 + c) * kChunkK + 8 * t;
      wv[c][h][0] = wv[c][h][1] = wv[c][h][2] = wv[c][h][3] = 0u;
      if (c < nc && row < a.rows && k < a.K) ldg_stream16(a.w + static_cast<size_t>(row) * a.w_stride + 2 * static_cast<size_t>(k), wv[c][h]);
    }
  pdl_enter();

  float4 xv[C][NT][2];
#pragma unroll
  for (int c = 0; c < C; ++c)
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
      const int n = n0 + nt * 8 + g, k = (c0 + c) * kChunkK + 8 * t;
      xv[c][nt][0] = xv[c][nt][1] = make_float4(0.f, 0.f, 0.f, 0.f);
      if (c < nc && n < a.m && k < a.K) {
        const float4* p = reinterpret_cast<const float4*>(a.x + static_cast<size_t>(n) * a.K + k);
        xv[c][nt][0] = p[0];
        xv[c][nt][1] = p[1];
      }
    }

  float acc[NT][4];
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) acc[nt][0] = acc[nt][1] = acc[nt][2] = acc[nt][3] = 0.0f;
#pragma unroll
  for (int c = 0; c < C; ++c) {
    if (c >= nc) break;  // the same for the whole warp
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
      uint32_t part[3][4];  // hi, mid, lo; word j = k pair 2j, 2j + 1 of the lane's 8
      const float4 u = xv[c][nt][0], v = xv[c][nt][1];
      split3(u.x, u.y, part[0][0], part[1][0], part[2][0]);
      split3(u.z, u.w, part[0][1], part[1][1], part[2][1]);
      split3(v.x, v.y, part[0][2], part[1][2], part[2][2]);
      split3(v.z, v.w, part[0][3], part[1][3], part[2][3]);
      float sum[4];
#pragma unroll
      for (int s = 0; s < 2; ++s) {
        const uint32_t fr[4] = {wv[c][0][2 * s], wv[c][1][2 * s], wv[c][0][2 * s + 1], wv[c][1][2 * s + 1]};
#pragma unroll
        for (int p = 0; p < 3; ++p) {
          if (s == 0 && p == 0) mma_bf16_first(sum, fr, part[p][0], part[p][1]);
          else mma_bf16(sum, fr, part[p][2 * s], part[p][2 * s + 1]);
        }
      }
#pragma unroll
      for (int i = 0; i < 4; ++i) acc[nt][i] += sum[i];
    }
  }

  // acc[nt]: rows g (0, 1) and g + 8 (2, 3), tokens nt * 8 + 2t (0, 2) and + 1 (1, 3).
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) {
    const int tok = nt * 8 + 2 * t;
    warp_part[warp][tok][g] = acc[nt][0];
    warp_part[warp][tok + 1][g] = acc[nt][1];
    warp_part[warp][tok][g + 8] = acc[nt][2];
    warp_part[warp][tok + 1][g + 8] = acc[nt][3];
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
  for (int i = rank * kThreads + threadIdx.x; i < group_rows * 16; i += S * kThreads) {
    const int tok = i / 16, r = i % 16, row = tile * 16 + r;
    if (row >= a.rows) continue;
    float s = 0.0f;
    for (int j = 0; j < S; ++j) s += cluster.map_shared_rank(&cta_part[0][0], j)[tok * 16 + r];
    if (a.bias) s += a.bias[row];
    float* out = a.y + static_cast<size_t>(n0 + tok) * a.rows + row;
    *out = a.accumulate ? *out + s : s;
  }
  cluster.sync();  // peers may still be reading this CTA's partials
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
  const int groups = (m + 15) / 16;  // rows of x in groups of 16 along grid y (one group up to 16 rows)
  const LaunchShape shape{dim3(static_cast<unsigned>(tiles * a.splits), static_cast<unsigned>(groups)), dim3(kThreads), 0,
                          static_cast<unsigned>(a.splits)};
  if (m <= 8) launch(linear_split_x_kernel<1>, shape, stream, a);
  else launch(linear_split_x_kernel<2>, shape, stream, a);
  CUDA_CHECK_LAUNCH();
}

}  // namespace tachyon::cuda
