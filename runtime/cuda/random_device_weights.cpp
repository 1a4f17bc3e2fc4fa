#include "runtime/cuda/random_device_weights.h"

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/random_fill.h"

namespace tachyon {

DeviceTargetWeights random_device_weights(const TargetWeightSpecs& specs, uint32_t seed) {
  uint32_t next = seed * 7919u;
  auto make = [&next](const WeightSpec& s) {
    if (s.empty()) return cuda::DeviceWeight{};
    cuda::DeviceWeight w(s.format, s.shape);
    cuda::fill_random_weight(s.format, w.data().get(), w.data().bytes(), w.scales().get(), w.scales().bytes(), s.mean,
                             s.stddev, ++next, nullptr);
    return w;
  };
  DeviceTargetWeights w = map_weights<cuda::DeviceWeight>(specs, make);
  CUDA_CHECK(cudaDeviceSynchronize());
  return w;
}

}  // namespace tachyon
