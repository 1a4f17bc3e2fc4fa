// Host-side switch of programmatic dependent launch (see launch.cuh, which .cu files include).
#pragma once

namespace tachyon::cuda {

// Process-wide: the step's kernels are launched with PDL when true (the default). `tachyon bench step
// --no-pdl` turns it off to measure what it gives.
bool programmatic_launch();
void set_programmatic_launch(bool enabled);

// The current device's SM count (cached per device): the grid of a persistent kernel, or a launch planner's waves.
int device_sm_count();

}  // namespace tachyon::cuda
