#include <cstdint>
#include <algorithm>
#include <vector>

#include "kernels/cuda/bench.h"
#include "kernels/cuda/bench_random.cuh"
#include "kernels/cuda/device_buffer.h"

namespace tachyon::cuda {

namespace {

__global__ void fill_random_kernel(uint8_t* p, size_t n_elems, int kind, uint32_t seed) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n_elems;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const uint32_t h = bench_hash32(i, seed);
    if (kind == 0) {  // fp8
      uint8_t b = static_cast<uint8_t>(h);
      if ((b & 0x7f) == 0x7f) b ^= 1;
      p[i] = b;
    } else if (kind == 1) {  // bf16
      const uint16_t bits = static_cast<uint16_t>((h & 0x8000u) | ((118u + (h >> 16) % 12u) << 7) | (h & 0x7fu));
      reinterpret_cast<uint16_t*>(p)[i] = bits;
    } else {  // f32 (activations, scales)
      reinterpret_cast<float*>(p)[i] = (static_cast<float>(h >> 8) * (1.0f / 16777216.0f)) * 2.0f - 1.0f;
    }
  }
}

}  // namespace

void fill_random(void* p, size_t n_elems, RandomFill kind, uint32_t seed, cudaStream_t stream) {
  const int blocks = static_cast<int>(std::min<size_t>((n_elems + 255) / 256, 8192));
  fill_random_kernel<<<blocks, 256, 0, stream>>>(static_cast<uint8_t*>(p), n_elems, static_cast<int>(kind), seed);
  CUDA_CHECK_LAUNCH();
}

double median_time_us(const std::function<void(cudaStream_t)>& launch, cudaStream_t stream, int warmup, int iterations) {
  for (int i = 0; i < warmup; ++i) launch(stream);
  std::vector<double> times;
  Event start, stop;
  for (int i = 0; i < iterations; ++i) {
    start.record(stream);
    launch(stream);
    stop.record(stream);
    times.push_back(stop.since(start) * 1000.0);
  }
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  return times[times.size() / 2];
}

double copy_bandwidth_gbs(cudaStream_t stream, size_t bytes) {
  DeviceBuffer<uint8_t> a(bytes), b(bytes);
  CUDA_CHECK(cudaMemsetAsync(a.get(), 1, bytes, stream));
  const double us = median_time_us(
      [&](cudaStream_t s) { CUDA_CHECK(cudaMemcpyAsync(b.get(), a.get(), bytes, cudaMemcpyDeviceToDevice, s)); }, stream, 3, 20);
  return 2.0 * bytes / (us * 1e-6) / 1e9;
}

}  // namespace tachyon::cuda
