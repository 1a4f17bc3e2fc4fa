// Block-wide exclusive prefix sum for the one-block routing kernels (moe_align, moe_dispatch).
#pragma once

namespace tachyon::cuda {

// Exclusive prefix of `v` over the block (blockDim.x a multiple of 32, at most 1024); `total` gets the
// block's sum. `scratch` holds 33 ints in shared memory. Every thread of the block must call it.
__device__ __forceinline__ int block_exclusive_scan(int v, int* scratch, int& total) {
  constexpr unsigned kFull = 0xffffffffu;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  int incl = v;
#pragma unroll
  for (int o = 1; o < 32; o <<= 1) {
    const int n = __shfl_up_sync(kFull, incl, o);
    if (lane >= o) incl += n;
  }
  if (lane == 31) scratch[warp] = incl;
  __syncthreads();
  if (warp == 0) {
    const int w = lane < warps ? scratch[lane] : 0;
    int wi = w;
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
      const int n = __shfl_up_sync(kFull, wi, o);
      if (lane >= o) wi += n;
    }
    scratch[lane] = wi - w;            // exclusive prefix of warp totals
    if (lane == 31) scratch[32] = wi;  // block total
  }
  __syncthreads();
  const int out = scratch[warp] + incl - v;
  total = scratch[32];
  __syncthreads();  // scratch is reused by the next call
  return out;
}

}  // namespace tachyon::cuda
