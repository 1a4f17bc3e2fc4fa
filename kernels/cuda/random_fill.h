// Random weights written straight into device memory, for benchmarks of real-shaped models whose
// weights would not fit on the host or in a file (a 75 GB per-GPU slice): values uniform with the given
// mean and standard deviation, so that every one is finite and activations stay of order one.
//   f32, bf16  mean + stddev * sqrt(3) * u, u uniform in [-1, 1)
//   fp8        e4m3 codes of u * 448, every 128x128 block scaled by stddev * sqrt(3) / 448
//   mxfp4      uniformly random E2M1 nibbles (rms 2.93), every 32-block scaled by the power of two
//              nearest stddev / 2.93 (mean ignored: it is 0 for every quantized weight)
// Deterministic for a seed (a hash of the element index, kernels/cuda/bench_random.cuh).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "model/weight.h"

namespace tachyon::cuda {

// `data`/`scales`: the weight's bytes in its stored layout (model/weight.h); `scales` null for f32/bf16.
void fill_random_weight(WeightFormat format, uint8_t* data, size_t data_bytes, uint8_t* scales, size_t scale_bytes,
                        float mean, float stddev, uint32_t seed, cudaStream_t stream);

// The E8M0 scale byte fill_random_weight gives MXFP4 weights of this standard deviation.
uint8_t mxfp4_random_scale_byte(float stddev);

}  // namespace tachyon::cuda
