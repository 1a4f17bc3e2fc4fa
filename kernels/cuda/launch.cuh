// One way to launch the step's kernels: optionally as a cluster, and as programmatic dependent launches
// (PDL, Hopper). A decode step is ~15 small kernels a layer, and between two dependent kernels the GPU
// idles while the next grid is launched. With PDL the next grid's launch is processed while the previous
// kernel finishes, and its CTAs wait at pdl_enter() until that kernel has completed and its writes are
// visible.
//
// The contract: every CTA of a kernel launched through launch() calls pdl_enter() before it reads anything
// the kernel just before it writes, before it writes global memory and before it returns. pdl_enter()
// waits for that kernel (its completion and its writes) and then lets the next kernel's CTAs launch. So
// at most one kernel runs ahead of its wait, and it may use that time: what a kernel reads before
// pdl_enter() must have been written by the kernel two before it or earlier, by a copy, or before a
// stream synchronization (weights, the step's metadata, KV-cache rows of earlier steps). The linear
// kernel streams its first weight chunks and attention its cache tiles that way, overlapping the
// previous kernel.
//
// Measured on an H200 (Qwen3-30B-A3B step, 1 x 1): triggering at every kernel's start, before its wait,
// made the step 1.19x slower (every kernel of the graph could then launch at once and park CTAs on the
// SMs); waiting without any trigger gave 1.007x over no PDL (docs/benchmarks.md).
#pragma once

#include <cuda_runtime.h>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/launch.h"

namespace tachyon::cuda {

__device__ __forceinline__ void pdl_enter() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

struct LaunchShape {
  dim3 grid, block;
  size_t smem = 0;
  unsigned cluster_x = 1;  // CTAs per cluster along x (1: no cluster)
};

// Fills `cfg` and `attrs` (room for 2) for `shape` on `stream`.
void launch_config(const LaunchShape& shape, cudaStream_t stream, cudaLaunchConfig_t& cfg, cudaLaunchAttribute* attrs);

// A kernel chosen at run time (a table of instantiations), its parameters packed as for cudaLaunchKernelExC.
void launch_untyped(const void* kernel, const LaunchShape& shape, cudaStream_t stream, void** params);

template <typename... Params, typename... Args>
void launch(void (*kernel)(Params...), const LaunchShape& shape, cudaStream_t stream, Args... args) {
  cudaLaunchConfig_t cfg;
  cudaLaunchAttribute attrs[2];
  launch_config(shape, stream, cfg, attrs);
  CUDA_CHECK(cudaLaunchKernelEx(&cfg, kernel, static_cast<Params>(args)...));
}

}  // namespace tachyon::cuda
