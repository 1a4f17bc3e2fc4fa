// Random benchmark inputs generated on the device: a SplitMix64 hash of (element index, seed), so that
// weights of gigabytes fill in one launch, identically on every run.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace tachyon::cuda {

__device__ __forceinline__ uint32_t bench_hash32(uint64_t i, uint32_t seed) {
  uint64_t z = i * 0x9e3779b97f4a7c15ull + seed;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return static_cast<uint32_t>(z ^ (z >> 31));
}

}  // namespace tachyon::cuda
