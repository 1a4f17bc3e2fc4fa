// The ep plan's token exchange on the GPU (kernels/cuda/moe.h): packing a rank's (token, slot) pairs into
// per-destination blocks for the all-to-all (moe_combine adds the returned outputs into the tokens,
// through pair_slot). The CPU twin is CpuTargetStep::moe_ep, whose order this keeps: a destination's
// pairs in ascending pair index.
#include <algorithm>
#include <cstdint>

#include "kernels/cuda/block_scan.cuh"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/moe.h"

namespace tachyon::cuda {

namespace {

constexpr int kPlanThreads = 1024;

// One block: for each destination rank in turn, a block-wide scan over the pairs numbers that rank's
// pairs in ascending pair order; the unused rest of its block of `capacity` slots gets id -1 (moe_align
// counts such rows as another rank's, so the owner's expert kernels skip them and moe_down zeroes them).
__global__ void __launch_bounds__(kPlanThreads) dispatch_plan_kernel(const int32_t* expert_ids, const float* weights, int n,
                                                                     const int32_t* owner, int ranks, int capacity,
                                                                     int32_t* send_ids, float* send_weights, int32_t* pair_slot) {
  pdl_enter();  // launch.cuh: before any global memory access
  __shared__ int scratch[33];
  for (int d = 0; d < ranks; ++d) {
    int carry = 0;
    for (int base = 0; base < n; base += blockDim.x) {
      const int i = base + threadIdx.x;
      const bool mine = i < n && owner[expert_ids[i]] == d;
      int total;
      const int slot = carry + block_exclusive_scan(mine ? 1 : 0, scratch, total);
      if (mine) {
        send_ids[d * capacity + slot] = expert_ids[i];
        send_weights[d * capacity + slot] = weights[i];
        pair_slot[i] = d * capacity + slot;
      }
      carry += total;
    }
    for (int s = carry + threadIdx.x; s < capacity; s += blockDim.x) {
      send_ids[d * capacity + s] = -1;
      send_weights[d * capacity + s] = 0.0f;
    }
  }
}

// Block i copies token i / top_k's row to its pair's slot.
__global__ void dispatch_rows_kernel(const float4* x, const int32_t* pair_slot, int top_k, int h4, float4* send_x) {
  pdl_enter();  // launch.cuh: before any global memory access
  const int i = blockIdx.x;
  const float4* src = x + static_cast<size_t>(i / top_k) * h4;
  float4* dst = send_x + static_cast<size_t>(pair_slot[i]) * h4;
  for (int c = threadIdx.x; c < h4; c += blockDim.x) dst[c] = src[c];
}

}  // namespace

void moe_dispatch(const float* x, const int32_t* expert_ids, const float* weights, int m, int top_k, int hidden,
                  const EpExchange& ex, cudaStream_t stream) {
  const int n = m * top_k;
  if (n == 0) return;  // a rank whose token share is empty sends nothing
  CUDA_REQUIRE(n <= ex.capacity, "moe_dispatch: more pairs than one destination's capacity");
  CUDA_REQUIRE(hidden % 4 == 0 && aligned16(x) && aligned16(ex.send_x), "moe_dispatch: rows must allow 16-byte access");
  launch(dispatch_plan_kernel, {dim3(1), dim3(kPlanThreads)}, stream, expert_ids, weights, n, ex.owner, ex.ranks, ex.capacity,
                                                       ex.send_ids, ex.send_weights, ex.pair_slot);
  CUDA_CHECK_LAUNCH();
  launch(dispatch_rows_kernel, {dim3(n), dim3(256)}, stream, reinterpret_cast<const float4*>(x), ex.pair_slot, top_k, hidden / 4,
                                              reinterpret_cast<float4*>(ex.send_x));
  CUDA_CHECK_LAUNCH();
}

}  // namespace tachyon::cuda
