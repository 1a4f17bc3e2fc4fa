// A rank's shard of the target weights with random values, made on its GPU (cudaSetDevice done by the
// caller): shapes, formats and spreads from runtime/weight_specs.h, values from kernels/cuda/random_fill.h.
// No file and no host copy, so a 75 GB per-GPU slice of a 1T model takes seconds.
#pragma once

#include <cstdint>

#include "runtime/cuda/cuda_target_step.h"
#include "runtime/weight_specs.h"

namespace tachyon {

// Every tensor gets its own seed (seed + its position in the specs), so no two share values.
DeviceTargetWeights random_device_weights(const TargetWeightSpecs& specs, uint32_t seed);

}  // namespace tachyon
