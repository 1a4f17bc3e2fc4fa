#include "kernels/cuda/launch.cuh"

#include <atomic>

namespace tachyon::cuda {

namespace {
std::atomic<bool> g_programmatic_launch{true};
}

bool programmatic_launch() { return g_programmatic_launch.load(std::memory_order_relaxed); }

int device_sm_count() {
  static std::atomic<int> counts[16];  // by device ordinal (a process sees at most a node's GPUs)
  int dev = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  std::atomic<int>& c = counts[dev % 16];
  int n = c.load(std::memory_order_relaxed);
  if (n == 0) {
    CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev));
    c.store(n, std::memory_order_relaxed);
  }
  return n;
}
void set_programmatic_launch(bool enabled) { g_programmatic_launch.store(enabled, std::memory_order_relaxed); }

void launch_config(const LaunchShape& shape, cudaStream_t stream, cudaLaunchConfig_t& cfg, cudaLaunchAttribute* attrs) {
  cfg = {};
  cfg.gridDim = shape.grid;
  cfg.blockDim = shape.block;
  cfg.dynamicSmemBytes = shape.smem;
  cfg.stream = stream;
  cfg.attrs = attrs;
  cfg.numAttrs = 0;
  if (shape.cluster_x > 1) {
    cudaLaunchAttribute& a = attrs[cfg.numAttrs++];
    a.id = cudaLaunchAttributeClusterDimension;
    a.val.clusterDim.x = shape.cluster_x;
    a.val.clusterDim.y = 1;
    a.val.clusterDim.z = 1;
  }
  if (programmatic_launch()) {
    cudaLaunchAttribute& a = attrs[cfg.numAttrs++];
    a.id = cudaLaunchAttributeProgrammaticStreamSerialization;
    a.val.programmaticStreamSerializationAllowed = 1;
  }
}

void launch_untyped(const void* kernel, const LaunchShape& shape, cudaStream_t stream, void** params) {
  cudaLaunchConfig_t cfg;
  cudaLaunchAttribute attrs[2];
  launch_config(shape, stream, cfg, attrs);
  CUDA_CHECK(cudaLaunchKernelExC(&cfg, kernel, params));
}

}  // namespace tachyon::cuda
