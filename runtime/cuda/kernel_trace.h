// Records the GPU start and end time of every kernel the process runs while a KernelTrace lives, with
// CUPTI's activity API (kernels inside replayed CUDA graphs included), for `tachyon bench step
// --timeline` (runtime/kernel_timeline.h turns them into per-kernel costs). The device machines have
// no Nsight Systems; CUPTI ships with the CUDA toolkit. Builds without CUPTI throw on construction.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/kernel_timeline.h"

namespace tachyon::cuda {

class KernelTrace {
 public:
  // Starts recording (one KernelTrace at a time in a process). Start it before the CUDA graphs to be
  // traced are captured.
  KernelTrace();
  ~KernelTrace();
  KernelTrace(const KernelTrace&) = delete;
  KernelTrace& operator=(const KernelTrace&) = delete;

  // Now on the clock of the records' timestamps.
  static uint64_t now_ns();

  // The kernels recorded since the last take() (all completed work is flushed first).
  std::vector<KernelRecord> take();
};

}  // namespace tachyon::cuda
