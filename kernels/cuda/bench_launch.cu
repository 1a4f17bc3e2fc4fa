// Benchmark rows for the floor under every step kernel: a chain of dependent kernels that do almost
// nothing (each CTA waits for the kernel before (pdl_enter), reads one value it wrote and block 0 writes
// the next), replayed as a CUDA graph the way a step runs its ~12 kernels a layer. The per-kernel time
// is what a kernel costs before it moves a byte: with N kernels a layer, N times it is a layer's floor
// whatever the kernels do. Grids of 1 CTA, one CTA per SM and two per SM (the sizes step kernels use), and
// the cluster and shared-memory shapes of the attention and linear kernels.
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
  // The step's attention and linear kernels run as clusters with large shared memory; qkv_prepare and
  // moe_route are a few plain CTAs (256 threads unless said). Each shape alone, and a plain kernel alternating with a cluster one.
  constexpr size_t kBigSmem = 100 * 1024;
  CUDA_CHECK(cudaFuncSetAttribute(chain_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(kBigSmem)));
  const int clustered = sms / 8 * 8;
  struct Row {
    std::string name;
    std::vector<LaunchShape> shapes;  // launched in turn along the chain
  };
  const std::vector<Row> rows = {
      {"1 CTA", {{dim3(1), dim3(256)}}},
      {std::to_string(sms) + " CTAs", {{dim3(sms), dim3(256)}}},
      {std::to_string(2 * sms) + " CTAs", {{dim3(2 * sms), dim3(256)}}},
      {std::to_string(clustered) + " CTAs in clusters of 8", {{dim3(clustered), dim3(256), 0, 8}}},
      {std::to_string(sms) + " CTAs, 100 KB shared memory", {{dim3(sms), dim3(256), kBigSmem}}},
      {"32 CTAs of 128 threads in clusters of 8, 100 KB shared memory", {{dim3(32), dim3(128), kBigSmem, 8}}},
      {"5 CTAs, then 32 CTAs of 128 threads in clusters of 8 with 100 KB (per kernel)", {{dim3(5), dim3(256)}, {dim3(32), dim3(128), kBigSmem, 8}}},
  };
  constexpr int kChain = 200;
  std::vector<KernelTiming> out;
  for (const Row& row : rows) {
    const double us = graph_time_us(stream, kChain, [&](cudaStream_t s) {
      for (int i = 0; i < kChain; ++i) launch(chain_kernel, row.shapes[i % row.shapes.size()], s, value.get());
      CUDA_CHECK_LAUNCH();
    });
    KernelTiming t;
    t.kernel = programmatic_launch() ? "dependent launch, PDL" : "dependent launch, no PDL";
    t.model = "-";
    t.shape = row.name + ", chain of " + std::to_string(kChain);
    t.bytes = 0;
    t.median_us = us;
    out.push_back(t);
  }
  return out;
}

}  // namespace tachyon::cuda
