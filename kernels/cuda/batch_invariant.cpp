#include "kernels/cuda/batch_invariant.h"

#include <atomic>

namespace tachyon::cuda {

namespace {
std::atomic<bool> g_batch_invariant{false};
}

void set_batch_invariant(bool on) { g_batch_invariant.store(on, std::memory_order_relaxed); }
bool batch_invariant() { return g_batch_invariant.load(std::memory_order_relaxed); }

}  // namespace tachyon::cuda
