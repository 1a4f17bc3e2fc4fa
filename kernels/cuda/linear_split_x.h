// FP32 activations against BF16 weights on the tensor cores, with the products of the FMA path: each x is
// split into three BF16 parts whose sum is x exactly (hi = bf16(x), mid = bf16(x - hi), lo = x - hi - mid),
// and every weight fragment is multiplied by all three. A BF16 x BF16 product is exact in FP32, so only the
// accumulation differs from FP32 FMA: each 32-wide chunk's products are summed in the tensor core's adder
// into fresh registers, then added to FP32 accumulators.
//
// What it is for: the MoE routers (LinearEpilogue::fp32_activations) at a verify block's or a batch's rows (3-128).
// Their FMA path is bound by its per-token FMA work at these rows (docs/benchmarks.md, sessions 15, 19 and 34),
// and the standard tensor-core path would round x to BF16, which can flip a close top-k.
//
// Layout: a CTA (8 warps) owns a 16-row tile and one K slice; the warps of the tile's cluster (S CTAs,
// S <= 8) take its 32-wide chunks in k order, at most kSplitXMaxChunks each, and every weight load of a
// warp is issued before the PDL wait. Warp partials are summed in shared memory in warp order, then the
// cluster's in rank order (deterministic). Beyond 16 rows, groups of 3-9 n-tiles of x along grid y, as few as fill one
// wave (linear_split_x.cu's group_tiles_for), whose x loads a warp streams in (chunk, n-tile) order, with each token's
// sums in the order a 16-row launch takes them: a token's logits are the same bits whatever m is (3-128). linear()
// takes this path by itself where it applies.
#pragma once

#include <cuda_runtime.h>

#include "kernels/cuda/device_weight.h"

namespace tachyon::cuda {

// x rows a launch takes: from 3, since at one or two rows the FMA path's narrow tiles are as fast or faster (2 x
// H200, docs/benchmarks.md session 25: with this path at one row the MiMo-V2.5-Pro slice's 1 x 1 step was 0.987x);
// up to 128 (8 sequences' verify blocks of 16; prefill chunks beyond take the FMA path). Session 34: at the 72 rows
// of 8 x 9 the FMA path took 25 us for MiMo-V2.5-Pro's router.
inline constexpr int kSplitXMinRows = 3, kSplitXMaxRows = 128;
inline constexpr int kSplitXMaxChunks = 4;   // 32-wide chunks a warp holds in registers at once

// Whether this path takes m rows of x over w: BF16 weights in 16-byte aligned rows, cols a multiple of 8 and
// at most 8 warps x 8 CTAs x kSplitXMaxChunks chunks of 32, x 16-byte aligned, kSplitXMinRows <= m <=
// kSplitXMaxRows.
bool linear_split_x_applies(const float* x, int m, const DeviceMatrix& w);

// The same, whatever m: what a launch of 1 to kSplitXMaxRows rows needs (batch invariance, batch_invariant.h, takes
// this path at every row count, in launches of at most kSplitXMaxRows).
bool linear_split_x_takes(const float* x, const DeviceMatrix& w);

// y[m, w.rows] (= or +=) x[m, w.cols] . W^T (+ bias), 1 <= m <= kSplitXMaxRows. linear_split_x_takes must hold.
void linear_split_x(const float* x, int m, const DeviceMatrix& w, float* y, const float* bias, bool accumulate,
                    cudaStream_t stream);

}  // namespace tachyon::cuda
