// cp.async (Ampere+): 16-byte global -> shared copies that complete asynchronously, in commit groups.
// Used by the attention kernel's K/V tile pipeline and the expert GEMM's shared-memory weight ring.
#pragma once

namespace tachyon::cuda {

// Copies src_bytes (16, or 0 to zero-fill) of src into the 16 bytes at smem_dst; src must be a valid
// address even when src_bytes is 0. kL2Prefetch256: also asks the L2 for the surrounding 256 bytes (for
// rows streamed once, whose next blocks the same thread copies next).
template <bool kL2Prefetch256 = false>
__device__ __forceinline__ void cp_async16(void* smem_dst, const void* src, int src_bytes) {
  const unsigned d = static_cast<unsigned>(__cvta_generic_to_shared(smem_dst));
  if constexpr (kL2Prefetch256)
    asm volatile("cp.async.cg.shared.global.L2::256B [%0], [%1], 16, %2;" ::"r"(d), "l"(src), "r"(src_bytes) : "memory");
  else
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(d), "l"(src), "r"(src_bytes) : "memory");
}

// The same copy of 16 bytes to a shared-memory address already converted (__cvta_generic_to_shared), for
// loops that step the address by constants.
__device__ __forceinline__ void cp_async16_at(unsigned smem_dst, const void* src) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(smem_dst), "l"(src) : "memory");
}

// Closes the thread's current group of copies.
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }

// Waits until at most N of the thread's groups are still in flight (its older groups have landed and
// are visible to this thread; other threads need a barrier as well).
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;" ::"n"(N) : "memory");
}

}  // namespace tachyon::cuda
