// `tachyon bench drafter`: the CUDA DFlash drafter at the size of MiMo-V2.5's (reference/dflash.md 1.5:
// 5 layers, hidden 4096, 64 q / 8 kv heads of 128, FFN 16384, 5 tapped target layers, the target's
// 152k-row LM head), with random BF16 weights made on the GPU (no file), block 8, 1024 positions of
// context per sequence, batches of 1, 2, 4 and 8 sequences. Rows:
//   draft            the draft's forward pass alone: median of CUDA-graph replays (device time)
//   draft() call     the whole call as the generator sees it: metadata upload, replay, tokens back (host)
//   add_context      one round's context append (B rows per sequence: host taps up, fc, every layer's k/v)
// Bytes: the weights the work reads once (every draft layer, the final norm and the LM head; for
// add_context fc and the layers' k/v projections) plus the KV cache it reads and writes.
#pragma once

#include <cuda_runtime.h>

#include <vector>

#include "kernels/cuda/bench.h"

namespace tachyon {

std::vector<cuda::KernelTiming> bench_drafter();

}  // namespace tachyon
