// Counter-based random numbers for sampling. A draw is a pure function of (seed, counter), so a
// request's n-th sampled token depends only on its seed and n: the same whatever the batch, the rank
// count or whether speculative decoding is on. (SplitMix64: a Weyl sequence through a strong mixer.)
#pragma once

#include <cstdint>

namespace tachyon {

inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

inline uint64_t random_u64(uint64_t seed, uint64_t counter) {
  return mix64(mix64(seed) + (counter + 1) * 0x9e3779b97f4a7c15ull);
}

// Uniform integer in [0, bound) (bound > 0), by the multiply-shift map; the bias is below 2^-64 * bound.
inline uint64_t random_below(uint64_t seed, uint64_t counter, uint64_t bound) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(random_u64(seed, counter)) * bound) >> 64);
}

// Uniform double in [0, 1) with 53 random bits.
inline double random_unit(uint64_t seed, uint64_t counter) {
  return static_cast<double>(random_u64(seed, counter) >> 11) * 0x1.0p-53;
}

}  // namespace tachyon
