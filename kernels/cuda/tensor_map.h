// Tensor maps (Hopper TMA descriptors) for copies of 2-D boxes out of weight matrices: a box of rows x a run of
// columns lands in shared memory as one copy, where a 1-D bulk copy could take only whole contiguous rows.
#pragma once

#include <cuda.h>

#include "kernels/cuda/device_weight.h"

namespace tachyon::cuda {

// The MXFP4 data of `w` (K values a row, rows of K / 2 bytes) as a 3-D tensor of 32-bit words: {K / 8 words,
// rows, experts}; boxes of box_words x box_rows x 1 (box_words * 4 a multiple of 16, both at most 256).
// Requires 16-byte aligned data, rows and expert strides (bulk_copyable_rows).
CUtensorMap mxfp4_expert_rows_map(const DeviceExperts& w, int K, int box_words, int box_rows);

}  // namespace tachyon::cuda
