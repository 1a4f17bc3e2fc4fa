// Timing kernels for `tachyon bench`: medians of CUDA-event timings, and the device's measured copy
// bandwidth, which every memory-bound kernel is judged against (bytes it must move / time, over it).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace tachyon::cuda {

// Median time in microseconds of `launch` (which enqueues work on `stream`), after `warmup` runs.
double median_time_us(const std::function<void(cudaStream_t)>& launch, cudaStream_t stream, int warmup = 5,
                      int iterations = 50);

// Per-call device time of `calls` launches that `enqueue` puts on a stream: run once eagerly (first-use
// set-up), then captured into a CUDA graph whose replays are timed (median), as a step runs them.
double graph_time_us(cudaStream_t stream, int calls, const std::function<void(cudaStream_t)>& enqueue);

// TACHYON_BENCH_DIGEST=1 (bench_digest_enabled): the linear rows of the cost model's plans and the attention rows name
// an FNV-1a digest of their kernel's output (output_digest: 16 hex digits of the device bytes), so that two builds (a
// kernel change meant to keep every bit) can be compared row by row.
bool bench_digest_enabled();
std::string output_digest(const void* device_data, size_t bytes, cudaStream_t stream);

// Device-to-device copy of `bytes`, counting bytes read plus bytes written, in GB/s (median of runs).
double copy_bandwidth_gbs(cudaStream_t stream, size_t bytes = size_t(1) << 30);

// One benchmark row: a kernel at one shape, the bytes it must move, and its median time.
struct KernelTiming {
  std::string kernel;  // e.g. "moe_gate_up mxfp4"
  std::string model;   // the shape's origin, e.g. "MiMo-V2.5-Pro"
  std::string shape;   // e.g. "H=6144 I=2048, 32 experts x 4 tokens"
  double bytes = 0;    // minimum bytes moved (weights touched once, inputs, outputs)
  double median_us = 0;
};

// Each kernel family provides its rows (kernels/cuda/bench_*.cpp); `tachyon bench kernels` prints them
// against the copy bandwidth.
std::vector<KernelTiming> bench_linear_kernels(cudaStream_t stream);
std::vector<KernelTiming> bench_moe_kernels(cudaStream_t stream);
std::vector<KernelTiming> bench_attention_kernels(cudaStream_t stream);
// A chain of dependent near-empty kernels in a graph: the per-kernel floor of a step (bytes = 0).
std::vector<KernelTiming> bench_launch_floor(cudaStream_t stream);
// The engine's persistent GEMV chain against a launch an op (kernels/engine/bench_gemv_chain.cu).
std::vector<KernelTiming> bench_gemv_chain(cudaStream_t stream);

}  // namespace tachyon::cuda
