// The median of a set of repetitions (the upper one of an even count), shared by every benchmark
// (kernel timings, whole steps, kernel timelines). Lives with the lowest layer so that the CUDA
// kernels' bench and the runtime's reports take the same definition.
#pragma once

#include <algorithm>
#include <vector>

namespace tachyon {

// v must not be empty.
inline double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

}  // namespace tachyon
