// y[m, w.rows] (= or +=) x[m, w.cols] . W^T (+ bias), for a weight in any stored format (f32, bf16,
// fp8 with 128x128 block scales, mxfp4). The dense projections, the router and the LM head.
// Decode and verify shapes: m from 1 to 64 rows, so the kernel streams the weight once from HBM and
// is judged by the bytes it moves (target: >= 85% of the measured copy bandwidth for bf16/fp8).
// CPU twin: kernels/cpu/matmul (matmul + add_bias). x, y, bias are FP32 device pointers.
//
// Precision: FP32 weights, MXFP4 weights, and BF16/FP8 weights with m <= kLinearFp32MaxM multiply
// FP32 x with FMA (exact decode, FP32 accumulation). BF16/FP8 weights with m > kLinearFp32MaxM use the
// tensor cores: x is rounded to BF16 (round to nearest even) and products accumulate in FP32 (FP8 per
// 128-wide scale block, then times the block scale). E4M3 NaN codes are not propagated on that path.
// Results are deterministic (no atomics; a fixed reduction order for a given m and shape). Under batch invariance
// (batch_invariant.h) BF16/FP8 weights take the tensor cores at every m, and a row's results do not depend on m.
#pragma once

#include <cuda_runtime.h>

#include <span>

#include "kernels/cuda/device_weight.h"

namespace tachyon::cuda {

struct LinearEpilogue {
  const float* bias = nullptr;  // [w.rows] or null
  bool accumulate = false;      // y += result instead of y = result
  // Keep x in FP32 at any m: for small matrices whose outputs make discrete choices, such as the MoE
  // router, where BF16-rounded activations can flip a close top-k. BF16 weights at 3-16 rows take the
  // tensor cores with x split exactly into three BF16 parts (linear_split_x.h); the rest the FMA path.
  bool fp32_activations = false;
};

// Largest m at which BF16/FP8 weights are multiplied with FP32 activations (see above).
inline constexpr int kLinearFp32MaxM = 2;

void linear(const float* x, int m, const DeviceMatrix& w, float* y, const LinearEpilogue& epilogue, cudaStream_t stream);

// How a call is spread over the GPU: `splits` CTAs (a thread-block cluster, 1..8) share the K range of
// a block of rows; each warp owns `tiles_per_warp` tiles of `tile_rows` rows. 0 means "choose" (a cost
// model of HBM, per-SM streaming and the L2 traffic of re-reading x). For benchmarks and tuning.
struct LinearPlan {
  int splits = 0;
  int tiles_per_warp = 0;
  int tile_rows = 0;  // rows of a warp's tile: 16 or 32 (tensor cores, by the token count), 16 or 4 (FMA)
  // What linear_plan reports, not asked for: the launch's groups of rows of x along grid y (the FMA path's 1-4
  // rows a CTA; the tensor-core path's n-tiles, split into several groups only over a small matrix and only
  // where no plan is asked for).
  int token_groups = 0;
};
LinearPlan linear_plan(int m, const DeviceMatrix& w);
// The cost model's inputs for the plan a launch asked for `want` runs (a plan that does not fit in shared memory
// falls back to the cheapest; `want` empty: the model's own choice, linear_plan's), for refitting its constants to a
// plan sweep (`tachyon bench kernels --only linear` with TACHYON_BENCH_LINEAR_PLANS=1 prints them): the launch's
// CTAs, its waves of resident CTAs and CTAs an SM, the weight bytes, a CTA's weight bytes / bytes in flight /
// elements, the L2 bytes of x's re-reads, the partial sums' bytes a CTA reads across its cluster, and the model's
// microseconds.
struct LinearPlanTerms {
  LinearPlan plan;
  long ctas = 0, waves = 0;
  int ctas_per_sm = 0;
  bool mma = false, decode_bound = false;
  double weight_bytes = 0, cta_bytes = 0, cta_in_flight = 0, cta_elems = 0, x_bytes = 0, red_bytes = 0, model_us = 0;
};
LinearPlanTerms linear_plan_terms(int m, const DeviceMatrix& w, const LinearPlan& want);
void linear(const float* x, int m, const DeviceMatrix& w, float* y, const LinearEpilogue& epilogue,
            const LinearPlan& plan, cudaStream_t stream);

// Several matrices over the same x: y_i[m, w_i.rows] = x . W_i^T (+ bias_i), in one launch where they
// share format, cols and FP8 column offset (a layer's q, k and v projections; an MLP's gate and up), so
// that the fixed cost of a launch (staging x, filling the pipeline, the cluster reduction: ~4-6 us, more
// than small matrices' streaming) is paid once. The launch takes one plan for all its matrices; each
// row's arithmetic is that of a single-matrix call with the same plan.
inline constexpr int kMaxLinearParts = 3;
struct LinearPart {
  DeviceMatrix w;
  float* y = nullptr;
  const float* bias = nullptr;
};
void linear_grouped(const float* x, int m, std::span<const LinearPart> parts, const LinearPlan& plan, cudaStream_t stream);

}  // namespace tachyon::cuda
