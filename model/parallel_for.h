// Element-wise work of the offline tools (random weights, quantization) over all cores: a 130 GB random
// checkpoint (issue 9's load test) is hours on one core and minutes on a node's.
#pragma once

#include <cstddef>
#include <functional>

namespace tachyon {

// Calls fn(begin, end) on disjoint chunks that cover [0, n) exactly, each at least `grain` long (except
// the last) and starting at a multiple of `grain`, on up to std::thread::hardware_concurrency() threads;
// returns when all are done, rethrowing the first exception a chunk threw. Results must not depend on
// the split (each element computed from its index alone). max_threads > 0 caps the threads (a reader of one
// rank of several on a node).
void parallel_for(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn, size_t max_threads = 0);

}  // namespace tachyon
