// Benchmark rows for the floor under every step kernel: a chain of dependent kernels that do almost
// nothing (each CTA waits for the kernel before (pdl_enter), reads one value it wrote and block 0 writes
// the next), replayed as a CUDA graph the way a step runs its ~12 kernels a layer. The per-kernel time
// is what a kernel costs before it moves a byte: with N kernels a layer, N times it is a layer's floor
// whatever the kernels do. Grids of 1 CTA, one CTA per SM and two per SM (the sizes step kernels use).
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/cuda/bench.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/launch.cuh"

namespace tachyon::cuda {

namespace {

__global__ void chain_kernel(int* value) {
  pdl_enter();
  const int v = *reinterpret_cast<volatile int*>(value);
  __syncthreads();
  if (blockIdx.x == 0 && threadIdx.x == 0) *value = v + 1;
}

}  // namespace

std::vector<KernelTiming> bench_launch_floor(cudaStream_t stream) {
  int dev = 0, sms = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  DeviceBuffer<int> value(1);
  CUDA_CHECK(cudaMemsetAsync(value.get(), 0, sizeof(int), stream));
  constexpr int kChain = 200;
  std::vector<KernelTiming> out;
  for (const int ctas : {1, sms, 2 * sms}) {
    const double us = graph_time_us(stream, kChain, [&](cudaStream_t s) {
      for (int i = 0; i < kChain; ++i) launch(chain_kernel, {dim3(ctas), dim3(256)}, s, value.get());
      CUDA_CHECK_LAUNCH();
    });
    KernelTiming t;
    t.kernel = programmatic_launch() ? "dependent launch, PDL" : "dependent launch, no PDL";
    t.model = "-";
    t.shape = std::to_string(ctas) + " CTAs x 256 threads, chain of " + std::to_string(kChain);
    t.bytes = 0;
    t.median_us = us;
    out.push_back(t);
  }
  return out;
}

}  // namespace tachyon::cuda
