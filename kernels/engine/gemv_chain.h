// A chain of dependent BF16 GEMVs (one token: y_i = W_i . x_i) in one persistent kernel: the first
// piece of the engine kernel (DESIGN.md, kernels/engine), built to measure what the engine's core loop
// gives against the step's one-launch-per-op path before the engine is built around it.
//
// One CTA an SM for the whole chain, warp-specialized: a producer warp streams every op's weight rows
// (the CTA's share of each op, in op order) into a shared-memory ring with bulk copies, as far ahead as
// the ring allows, whatever the data dependencies (weights never depend on activations); eight consumer
// warps wait for op i - 1 to be complete on every CTA (a counter per op in global memory, release /
// acquire), read x_i from L2, and dot the ring's rows with it. So the weight stream does not stop at an
// op boundary, where the one-launch-per-op path waits for the previous kernel to end before it streams
// more than its first chunks. CPU twin: kernels/cpu/matmul, op by op.
//
// Measured (one H200, `tachyon bench kernels --only chain`, docs/benchmarks.md session 17): 1.10-1.13x the
// one-launch-per-op path on chains of 8-38 MB ops, 0.92x on 8 MB square ops. An op boundary here (every
// CTA's release add, the others' acquire polls, x fetched from L2) costs about what a PDL launch boundary
// does (~2.5-3 us), and the ring (192 KB) holds less than a CTA's share of a large op, so the stream still
// pauses at each boundary. Not used by the step: what the engine must add is said there.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "kernels/cuda/device_buffer.h"

namespace tachyon::cuda {

struct GemvChainOp {
  const uint16_t* w = nullptr;  // BF16 [rows, cols], rows contiguous
  int rows = 0, cols = 0;       // cols: a multiple of 256, at most kGemvChainMaxCols
  const float* x = nullptr;     // [cols]: written before the launch or by an earlier op of the chain
  float* y = nullptr;           // [rows]
};

inline constexpr int kGemvChainMaxCols = 6144;

// The chain's ops on the device and one completion counter an op; run() enqueues the counters' reset and
// the kernel (a cooperative launch: every CTA resident, since CTAs wait for one another). Capturable in a
// CUDA graph.
class GemvChain {
 public:
  explicit GemvChain(const std::vector<GemvChainOp>& ops);  // on the device it runs on
  void run(cudaStream_t stream);

 private:
  int n_ops_ = 0;
  int ring_slots_ = 0;
  size_t slot_bytes_ = 0;
  int grid_ = 0;     // one CTA an SM of the constructor's device
  size_t smem_ = 0;  // the ring, its mbarriers and the consumers' partial sums
  DeviceBuffer<GemvChainOp> ops_;
  DeviceBuffer<uint32_t> done_;
};

}  // namespace tachyon::cuda
