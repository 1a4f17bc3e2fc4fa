// One way to launch the step's kernels: optionally as a cluster, and as programmatic dependent launches
// (PDL, Hopper). A decode step is ~15 small kernels a layer; between two dependent kernels the GPU
// idles while the next grid is launched and its CTAs start (~1-2 us in a CUDA graph). With PDL the next
// kernel's CTAs are scheduled while the previous kernel still runs and wait at pdl_enter() until it
// has finished and its writes are visible, so the launch overlaps the work.
//
// The contract: every kernel launched through launch() calls pdl_enter() before it touches global
// memory (its first statement). pdl_enter() lets the kernel's own dependents be scheduled at once and
// then waits for its predecessor; without PDL (another launcher, no predecessor kernel) the wait
// returns at once. Dependents start only after every CTA of this kernel has started, so waiting CTAs
// never keep a running kernel's CTAs off the SMs.
#pragma once

#include <cuda_runtime.h>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/launch.h"

namespace tachyon::cuda {

__device__ __forceinline__ void pdl_enter() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
  asm volatile("griddepcontrol.wait;" ::: "memory");
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
