// Helpers for GPU tests: seeded random inputs, device round trips, and a comparison that reports the
// worst error and the first mismatches (atol + rtol * |ref| per element, as llm.c's validate_result).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/cuda/batch_invariant.h"
#include "kernels/cuda/device_buffer.h"

namespace tachyon::test {

std::vector<float> random_floats(size_t n, uint64_t seed, float stddev = 1.0f, float mean = 0.0f);

struct Comparison {
  bool ok = true;
  double max_abs = 0, max_rel = 0;
  size_t mismatches = 0;
  std::string report;  // worst error and the first few mismatches, for CHECK_MESSAGE
};

Comparison compare(const std::vector<float>& got, const std::vector<float>& ref, double atol, double rtol);

// Fills device memory with NaNs so that an output element the kernel forgets to write fails the check.
void poison(float* device, size_t n);

// Batch invariance (kernels/cuda/batch_invariant.h) on for the scope's lifetime, as it was after it.
class BatchInvariantScope {
 public:
  BatchInvariantScope() : before_(cuda::batch_invariant()) { cuda::set_batch_invariant(true); }
  ~BatchInvariantScope() { cuda::set_batch_invariant(before_); }
  BatchInvariantScope(const BatchInvariantScope&) = delete;
  BatchInvariantScope& operator=(const BatchInvariantScope&) = delete;

 private:
  bool before_;
};

// Elements whose bits differ (memcmp: NaNs and signed zeros count as their bits) over the first n of each; both must
// hold at least n (a shorter one is an error, not a match).
size_t differing_bits(const std::vector<float>& a, const std::vector<float>& b, size_t n);

}  // namespace tachyon::test
