#include "model/parallel_for.h"

#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace tachyon {

void parallel_for(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn, size_t max_threads) {
  grain = std::max<size_t>(grain, 1);
  const size_t grains = (n + grain - 1) / grain;
  size_t threads = std::min<size_t>(std::max(1u, std::thread::hardware_concurrency()), grains);
  if (max_threads > 0) threads = std::min(threads, max_threads);
  if (threads <= 1) {
    if (n > 0) fn(0, n);
    return;
  }
  // Contiguous runs of whole grains, one per thread.
  std::exception_ptr first_error;
  std::mutex error_mutex;
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (size_t t = 0; t < threads; ++t) {
    const size_t begin = std::min(n, grains * t / threads * grain), end = std::min(n, grains * (t + 1) / threads * grain);
    if (begin >= end) continue;
    pool.emplace_back([&, begin, end] {
      try {
        fn(begin, end);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!first_error) first_error = std::current_exception();
      }
    });
  }
  for (std::thread& th : pool) th.join();
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace tachyon
