// Spin-waits on other CTAs or other GPUs must end the job instead of hanging it when the side they wait
// for has stopped (a rank that died, a launch that could not make all its CTAs resident): a wait begun at
// t0 traps after kWaitTimeoutNs, which fails the stream with an error the host reports.
#pragma once

namespace tachyon::cuda {

constexpr unsigned long long kWaitTimeoutNs = 10ull * 1000 * 1000 * 1000;

__device__ __forceinline__ unsigned long long globaltimer_ns() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

__device__ __forceinline__ void trap_after_timeout(unsigned long long t0) {
  if (globaltimer_ns() - t0 > kWaitTimeoutNs) __trap();
}

}  // namespace tachyon::cuda
