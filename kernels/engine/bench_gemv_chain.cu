// Benchmark rows for the engine's GEMV chain (gemv_chain.h) against the step's path, a launch an op
// (linear(), PDL, CUDA graph), in the same run over the same weights: a chain of 32 dependent BF16 GEMVs
// at one token, alternating [R, C] and [C, R] (each op's x is the op before's y), every op its own weights
// (the chain's set well over the L2), at per-GPU dense shapes of MiMo-V2.5-Pro and Qwen3-235B-A22B. The
// time is per op (the chain's graph replay over 32); the chain's includes its counters' reset.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "kernels/cuda/bench.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/random_fill.h"
#include "kernels/engine/gemv_chain.h"

namespace tachyon::cuda {

std::vector<KernelTiming> bench_gemv_chain(cudaStream_t stream) {
  struct Pair {
    const char* model;
    int rows, cols;
  };
  const Pair pairs[] = {{"MiMo-V2.5-Pro", 3072, 6144}, {"MiMo-V2.5-Pro", 2048, 6144}, {"Qwen3-235B-A22B", 1024, 4096},
                        {"(square)", 2048, 2048}};
  constexpr int kOps = 32;
  std::vector<KernelTiming> out;
  for (const Pair& pr : pairs) {
    const int width = std::max(pr.rows, pr.cols);
    std::vector<DeviceBuffer<uint16_t>> w;
    std::vector<GemvChainOp> ops;
    std::vector<DeviceMatrix> mats;
    DeviceBuffer<float> act[2] = {DeviceBuffer<float>(width), DeviceBuffer<float>(width)};
    fill_random_weight(WeightFormat::F32, reinterpret_cast<uint8_t*>(act[0].get()), act[0].bytes(), nullptr, 0, 0.0f, 1.0f,
                       7, stream);
    double bytes = 0;
    for (int i = 0; i < kOps; ++i) {
      const int rows = i % 2 ? pr.cols : pr.rows, cols = i % 2 ? pr.rows : pr.cols;
      w.emplace_back(static_cast<size_t>(rows) * cols);
      fill_random_weight(WeightFormat::BF16, reinterpret_cast<uint8_t*>(w.back().get()), w.back().bytes(), nullptr, 0, 0.0f,
                         1.0f / std::sqrt(static_cast<float>(cols)), 100 + i, stream);
      ops.push_back({w.back().get(), rows, cols, act[i % 2].get(), act[(i + 1) % 2].get()});
      DeviceMatrix m;
      m.format = WeightFormat::BF16;
      m.rows = rows;
      m.cols = cols;
      m.data = reinterpret_cast<const uint8_t*>(w.back().get());
      m.data_row_stride = static_cast<size_t>(cols) * 2;
      mats.push_back(m);
      bytes += 2.0 * rows * cols + 4.0 * (rows + cols);
    }
    GemvChain chain(ops);
    // The outputs of both paths from the same input, for the row's label (they sum in different orders).
    auto final_output = [&](const std::function<void(cudaStream_t)>& run) {
      DeviceBuffer<float> x0(width);
      CUDA_CHECK(cudaMemcpyAsync(x0.get(), act[0].get(), act[0].bytes(), cudaMemcpyDeviceToDevice, stream));
      run(stream);
      CUDA_CHECK(cudaStreamSynchronize(stream));  // download copies on another stream
      std::vector<float> y = act[kOps % 2].download();
      CUDA_CHECK(cudaMemcpyAsync(act[0].get(), x0.get(), act[0].bytes(), cudaMemcpyDeviceToDevice, stream));
      CUDA_CHECK(cudaStreamSynchronize(stream));
      return y;
    };
    auto run_linear = [&](cudaStream_t s) {
      for (int i = 0; i < kOps; ++i) linear(ops[i].x, 1, mats[i], ops[i].y, {}, s);
    };
    const std::vector<float> yc = final_output([&](cudaStream_t s) { chain.run(s); });
    const std::vector<float> yl = final_output(run_linear);
    double diff = 0, norm = 0;
    for (size_t i = 0; i < yc.size(); ++i) {
      diff = std::max(diff, static_cast<double>(std::fabs(yc[i] - yl[i])));
      norm += static_cast<double>(yl[i]) * yl[i];
    }
    const std::string shape = "32 ops alternating [" + std::to_string(pr.rows) + ", " + std::to_string(pr.cols) + "] / [" +
                              std::to_string(pr.cols) + ", " + std::to_string(pr.rows) + "], m=1, per op";
    KernelTiming a{"gemv chain (persistent, engine)", pr.model, shape, bytes / kOps, 0};
    a.median_us = graph_time_us(stream, kOps, [&](cudaStream_t s) { chain.run(s); });
    KernelTiming b{"linear bf16 (a launch an op)", pr.model,
                   shape + "; last outputs: max |chain - linear| " + std::to_string(diff) + ", rms " +
                       std::to_string(std::sqrt(norm / yc.size())),
                   bytes / kOps, 0};
    b.median_us = graph_time_us(stream, kOps, run_linear);
    out.push_back(a);
    out.push_back(b);
  }
  return out;
}

}  // namespace tachyon::cuda
