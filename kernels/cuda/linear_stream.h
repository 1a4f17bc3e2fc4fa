// The FMA path of the dense linear (one or two rows of FP32 x, BF16 or FP8 weights) as a persistent grid: two or three
// CTAs an SM, each streaming one run of whole row groups, so that x is staged once a CTA, the weight stream never
// stops between row blocks, and no CTA waits on a cluster reduction or on a launch's last wave.
//
// Why: linear()'s K-split clusters pay a fixed ~4 us a CTA (staging x, filling the ring, the cluster reduction)
// and run in waves; at one token the BF16 LM heads streamed at 74-80% of copy bandwidth and the FP8 ones at 53-65%
// (docs/benchmarks.md, session 29, which measures both paths in one run), and the small q/o projections, whose
// whole share a CTA can load before its PDL wait, paid the fixed cost on top.
//
// Layout: the CTA's 8 warps are WR row groups x WK K slices (WK from the rows and K: the least bytes on the
// busiest CTA, then the longest slices). A warp takes 4 rows at a time; each lane reads one 16-byte piece of each
// of the 4 rows a step (x read once from shared memory for the 4), 4 steps ahead in a register ring that runs on
// across the CTA's rows; launches of many row groups take 3 CTAs an SM instead, 2 steps ahead (more warps to overlap
// a step's arithmetic with the loads in flight). A row's lane sums are added by shuffles in a fixed order, its K
// slices' in warp order: deterministic, whichever CTA takes the row. Long launches (LM heads) find a warp's rows once
// a row group (a cursor) instead of once a step, and load one FP8 scale a step instead of four: the same loads, fewer
// instructions.
#pragma once

#include <cuda_runtime.h>

#include <span>

#include "kernels/cuda/device_weight.h"
#include "kernels/cuda/linear.h"

namespace tachyon::cuda {

// Whether linear() and linear_grouped() take this path wherever it applies (on by default; off for benchmarks,
// `tachyon bench step --no-linear-stream`, and tests, to compare it with the K-split clusters). One H200
// (docs/benchmarks.md, session 29): faster than the clusters at every one- and two-row shape of `tachyon bench kernels
// --only linear`, 128 to 25136 rows (1.02-2.0x).
void set_linear_stream(bool enabled);
bool linear_stream_enabled();

// Whether the path can take m rows of x over the parts (one launch, their rows one after another): m of 1 or 2;
// BF16 or FP8 weights of one format and one cols, a multiple of 16; 16-byte aligned rows; FP8 blocks starting at
// column 0; with several parts, each a multiple of 4 rows; x 16-byte aligned and small enough for two CTAs an SM
// to stage it.
bool linear_stream_applies(const float* x, int m, std::span<const LinearPart> parts);

// Whether linear() / linear_grouped() take it: enabled, applies, and batch invariance (batch_invariant.h) off.
bool linear_stream_chosen(const float* x, int m, std::span<const LinearPart> parts);

inline bool linear_stream_applies(const float* x, int m, const DeviceMatrix& w) {
  const LinearPart p{w};
  return linear_stream_applies(x, m, std::span<const LinearPart>(&p, 1));
}
inline bool linear_stream_chosen(const float* x, int m, const DeviceMatrix& w) {
  const LinearPart p{w};
  return linear_stream_chosen(x, m, std::span<const LinearPart>(&p, 1));
}

// Whether the launch's weight loads go through a per-group cursor (long launches; the same bits as per-step loads,
// linear_stream.cu says when and why): for tests, to know which path they cover.
bool linear_stream_loads_by_cursor(const float* x, int m, std::span<const LinearPart> parts);
inline bool linear_stream_loads_by_cursor(const float* x, int m, const DeviceMatrix& w) {
  const LinearPart p{w};
  return linear_stream_loads_by_cursor(x, m, std::span<const LinearPart>(&p, 1));
}

// The launch's CTAs an SM: 2 (each lane 4 steps ahead) or 3 (2 steps ahead), linear_stream.cu's choose_shape; 0 where
// the path does not apply. For tests, to know which shape they cover.
int linear_stream_ctas_per_sm(const float* x, int m, std::span<const LinearPart> parts);
inline int linear_stream_ctas_per_sm(const float* x, int m, const DeviceMatrix& w) {
  const LinearPart p{w};
  return linear_stream_ctas_per_sm(x, m, std::span<const LinearPart>(&p, 1));
}

// Each part's y[m, rows] (= or +=) x[m, cols] . W^T (+ its bias). linear_stream_applies must hold.
void linear_stream(const float* x, int m, std::span<const LinearPart> parts, bool accumulate, cudaStream_t stream);

}  // namespace tachyon::cuda
