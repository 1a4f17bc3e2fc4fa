#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <vector>

#include "kernels/cuda/bench.h"
#include "kernels/cuda/device_buffer.h"
#include "model/fnv1a.h"
#include "model/median.h"

namespace tachyon::cuda {

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
  return median(std::move(times));
}

// Per-call device time of `calls` launches that `enqueue` puts on a stream: run once eagerly (first-use
// set-up), then captured into a CUDA graph whose replays are timed, as a step runs them (no host
// launch overhead between kernels; a graph's own gap between kernel nodes remains).
double graph_time_us(cudaStream_t stream, int calls, const std::function<void(cudaStream_t)>& enqueue) {
  enqueue(stream);
  CUDA_CHECK(cudaStreamSynchronize(stream));
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  enqueue(stream);
  CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
  CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  const double us = median_time_us([&](cudaStream_t s) { CUDA_CHECK(cudaGraphLaunch(exec, s)); }, stream, 2, 15);
  CUDA_CHECK(cudaGraphExecDestroy(exec));
  CUDA_CHECK(cudaGraphDestroy(graph));
  return us / calls;
}

bool bench_digest_enabled() {
  const char* env = std::getenv("TACHYON_BENCH_DIGEST");
  return env && env[0] == '1';
}

std::string output_digest(const void* device_data, size_t bytes, cudaStream_t stream) {
  std::vector<uint8_t> host(bytes);
  CUDA_CHECK(cudaMemcpyAsync(host.data(), device_data, bytes, cudaMemcpyDeviceToHost, stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));
  const uint64_t h = fnv1a64(host);
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

double copy_bandwidth_gbs(cudaStream_t stream, size_t bytes) {
  DeviceBuffer<uint8_t> a(bytes), b(bytes);
  CUDA_CHECK(cudaMemsetAsync(a.get(), 1, bytes, stream));
  const double us = median_time_us(
      [&](cudaStream_t s) { CUDA_CHECK(cudaMemcpyAsync(b.get(), a.get(), bytes, cudaMemcpyDeviceToDevice, s)); }, stream, 3, 20);
  return 2.0 * bytes / (us * 1e-6) / 1e9;
}

}  // namespace tachyon::cuda
