// A hidden-width row normed by the CTAs of a thread-block cluster together, with the bits of one block's
// norm (row_ops.cuh) and one trip to memory: combine_add_rmsnorm's cluster kernel (elementwise.cu), whose
// rows are few and wide (a decode step's MoE combine at hidden 6144 reads 8 slot rows of 24 KB a token,
// too many bytes for one SM). Each CTA makes its part of the row and the cluster exchanges only the warps'
// sums of squares. (The fused peer all-reduce's push, whose 8 CTAs a row each read the whole row back from
// the L2 after a cluster barrier, measured slower this way on 2 x H200: 4.9 against 4.4 us a call at one
// row, docs/benchmarks.md "Session 20".)
//
// The row layout of row_ops.cuh has T = row_block_threads(dim) threads, W = T / 32 warps. CTA c of C plays
// the layout's warps [c W / C, (c + 1) W / C) (ClusterRowShare). Its threads first make those warps' float4s
// of the row, one a thread (all their loads in flight at once), and leave them in shared memory; then its
// first warps play the layout's warps, summing their squares from shared memory as those warps would, and
// the cluster adds the W warp sums in warp order, as block_sum does: the same bits.
#pragma once

#include <cooperative_groups.h>

#include "kernels/cuda/row_ops.cuh"

namespace tachyon::cuda {

// The most warps of the layout one CTA of a cluster of C plays, and its threads (a float4 each of those
// warps' float4s).
template <int C>
constexpr int kClusterRowMaxWarps = (kRowMaxThreads / 32 + C - 1) / C;
template <int C>
constexpr int kClusterRowMaxThreads = kClusterRowMaxWarps<C> * 32 * kRowVec;

// Threads a CTA of the cluster takes for rows of dim floats.
template <int C>
__host__ __device__ inline int cluster_row_threads(int dim) {
  return (row_block_threads(dim) / 32 + C - 1) / C * 32 * kRowVec;
}

template <int C>
struct ClusterRowShare {
  int threads, W, w0, span;  // layout threads and warps; this CTA's first warp, and its layout threads
  int vt;                    // the layout thread this thread plays (threads: none, no float4s)

  __device__ explicit ClusterRowShare(int dim, int c) {
    threads = row_block_threads(dim);
    W = threads / 32;
    w0 = c * W / C;
    span = ((c + 1) * W / C - w0) * 32;
    vt = static_cast<int>(threadIdx.x) < span ? w0 * 32 + static_cast<int>(threadIdx.x) : threads;
  }
  // The float4 of the row this thread makes in the first phase (kept at shared index threadIdx.x), or -1.
  __device__ int made_float4(int d4) const {
    const int q = static_cast<int>(threadIdx.x);
    if (q >= span * kRowVec) return -1;
    const int i = w0 * 32 + q % span + q / span * threads;
    return i < d4 ? i : -1;
  }
  // Where this CTA's float4 i of the row (one of its layout threads') is in shared memory.
  __device__ int shared_index(int i) const { return (i / threads) * span + (i % threads) - w0 * 32; }
};

// y_row = the row / rms(row) * g for the float4s of this thread's layout thread, the row's float4s made by
// this CTA in made[] (shared memory; made_float4's places, synchronised before). g: load_row_weight(w, dim,
// threads, g, share.vt). warp_squares: shared, kClusterRowMaxWarps<C> floats. Every thread of every CTA of
// the cluster must call it; it returns once no CTA reads this one's shared memory any more.
template <int C>
__device__ __forceinline__ void cluster_store_normed_row(const ClusterRowShare<C>& share, const float4* made, int dim,
                                                         float eps, const float4 (&g)[kRowVec], float* y_row,
                                                         float* warp_squares) {
  namespace cg = cooperative_groups;
  cg::cluster_group cluster = cg::this_cluster();
  const int d4 = dim / 4, lane = static_cast<int>(threadIdx.x) % 32;
  float4 v[kRowVec];
  const float s = load_row(v, d4, share.threads, [&](int i) { return made[share.shared_index(i)]; }, share.vt);
  const float ws = warp_sum(s);
  if (lane == 0 && static_cast<int>(threadIdx.x) < share.span) warp_squares[threadIdx.x / 32] = ws;
  cluster.sync();  // every CTA's warp sums are in its shared memory
  // Lane i of every warp reads layout warp i's sum from the CTA that played it (all W reads in flight at
  // once); the lanes then add them in warp order, each getting the same total.
  float mine = 0.0f;
  if (lane < share.W) {
    const int owner = (lane * C + C - 1) / share.W;  // the c with c W / C <= lane < (c + 1) W / C
    mine = cluster.map_shared_rank(warp_squares, owner)[lane - owner * share.W / C];
  }
  cluster.barrier_arrive();  // done with the other CTAs' shared memory
  float total = 0.0f;
  for (int i = 0; i < share.W; ++i) total += __shfl_sync(0xffffffffu, mine, i);
  store_scaled_row(v, row_inv_rms(total, dim, eps), dim, share.threads, g, y_row, share.vt, 0, d4);
  cluster.barrier_wait();  // no CTA leaves while another may still read its warp sums
}

}  // namespace tachyon::cuda
