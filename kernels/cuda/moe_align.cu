// moe_align (kernels/cuda/moe.h): sorts the m*k (token, slot) pairs by local expert into MoeRouting.
// One block, everything in shared memory: count pairs per bucket (local expert, or one bucket for all
// non-local pairs), scan the counts into offsets and the non-empty experts into the active list, place
// each pair in its bucket, then order each local expert's pairs by pair index (the documented,
// deterministic order) by ranking it among its bucket's pairs: decode buckets hold a few to a few tens
// of pairs, so the ranking is cheap. Non-local pairs go to the tail in any order (moe_down zeroes them).
#include <cstdint>

#include "kernels/cuda/block_scan.cuh"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/moe.h"
#include "kernels/cuda/moe_gemm_params.cuh"

namespace tachyon::cuda {

namespace {

constexpr int kAlignThreads = 1024;
using moe_detail::local_expert_bucket;  // shared with the in-kernel routing, which must sort the same way

__global__ void __launch_bounds__(kAlignThreads) moe_align_kernel(const int32_t* expert_ids, int n, MoeRouting r) {
  pdl_enter();  // launch.cuh: before any global memory access
  extern __shared__ int align_smem[];
  const int L = r.local_experts;
  int* count = align_smem;       // [L + 1]
  int* start = count + L + 1;    // [L + 2]: exclusive prefix of count
  int* cursor = start + L + 2;   // [L + 1]
  int* scratch = cursor + L + 1; // [33]
  int* order = scratch + 33;     // [n]: local pairs grouped by expert, unordered inside a group
  const int tid = threadIdx.x;

  for (int i = tid; i <= L; i += blockDim.x) count[i] = 0;
  __syncthreads();
  for (int i = tid; i < n; i += blockDim.x) atomicAdd(&count[local_expert_bucket(expert_ids[i], r.expert_begin, L)], 1);
  __syncthreads();

  // Offsets over the L + 1 buckets, and the active list over the L experts, in chunks of the block.
  int carry = 0, active_carry = 0;
  for (int base = 0; base <= L; base += blockDim.x) {
    const int i = base + tid;
    const int c = i <= L ? count[i] : 0;
    const int flag = i < L && c > 0;
    int total, active_total;
    const int off = carry + block_exclusive_scan(c, scratch, total);
    const int aoff = active_carry + block_exclusive_scan(flag, scratch, active_total);
    if (i <= L) {
      start[i] = off;
      cursor[i] = off;
      r.expert_offsets[i] = off;
    }
    if (flag) r.active_experts[aoff] = i;
    carry += total;
    active_carry += active_total;
  }
  if (tid == 0) {
    start[L + 1] = carry;
    *r.active_count = active_carry;
  }
  __syncthreads();

  for (int i = tid; i < n; i += blockDim.x) {
    const int b = local_expert_bucket(expert_ids[i], r.expert_begin, L);
    const int pos = atomicAdd(&cursor[b], 1);
    if (b == L) r.pair_index[pos] = i;
    else order[pos] = i;
  }
  __syncthreads();

  for (int i = tid; i < n; i += blockDim.x) {
    const int b = local_expert_bucket(expert_ids[i], r.expert_begin, L);
    if (b == L) continue;
    int rank = 0;
    for (int j = start[b]; j < start[b + 1]; ++j) rank += order[j] < i;
    r.pair_index[start[b] + rank] = i;
  }
}

}  // namespace

void moe_align(const int32_t* expert_ids, int m, int top_k, const MoeRouting& routing, cudaStream_t stream) {
  const int n = m * top_k;
  CUDA_REQUIRE(n <= routing.max_pairs, "moe_align: m*top_k exceeds the routing buffers' capacity");
  CUDA_REQUIRE(routing.local_experts >= 1, "moe_align: no local experts");
  const size_t smem = (3 * static_cast<size_t>(routing.local_experts) + 4 + 33 + n) * sizeof(int);
  static int optin = 0;
  if (optin == 0) {
    int dev = 0;
    CUDA_CHECK(cudaGetDevice(&dev));
    CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
    CUDA_CHECK(cudaFuncSetAttribute(moe_align_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, optin));
  }
  CUDA_REQUIRE(smem <= static_cast<size_t>(optin), "moe_align: too many pairs for one block's shared memory");
  launch(moe_align_kernel, {dim3(1), dim3(kAlignThreads), smem}, stream, expert_ids, n, routing);
  CUDA_CHECK_LAUNCH();
}

}  // namespace tachyon::cuda
