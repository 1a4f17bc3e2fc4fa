// The engine's GEMV chain (kernels/engine/gemv_chain.h) against the CPU: each op's y = W . x with BF16
// weights (decoded exactly) and FP32 x, op by op through a chain whose ops read earlier ops' outputs,
// including rows that leave some CTAs no share, groups of fewer than 8 rows, and the widest x.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "gpu_test_util.h"
#include "kernels/engine/gemv_chain.h"
#include "model/bf16.h"

using namespace tachyon;
using cuda::DeviceBuffer;

TEST_CASE("gpu gemv chain: every op of a chain of dependent BF16 GEMVs equals the CPU's") {
  struct Spec {
    int rows, cols;
    int input;  // acts index of x: 0 the chain's input, i + 1 op i's output
  };
  const Spec specs[] = {{512, 256, 0},  {256, 512, 1}, {1024, 256, 2}, {6144, 1024, 3},
                        {768, 6144, 4}, {256, 768, 5}, {100, 256, 6},  {4, 256, 0}};
  std::vector<std::vector<float>> ref{test::random_floats(256, 11)};
  std::vector<DeviceBuffer<float>> acts;
  acts.push_back(DeviceBuffer<float>::from(ref[0]));
  std::vector<DeviceBuffer<uint16_t>> weights;
  std::vector<cuda::GemvChainOp> ops;
  uint64_t seed = 12;
  for (const Spec& s : specs) {
    const std::vector<float>& x = ref[s.input];
    REQUIRE(x.size() == static_cast<size_t>(s.cols));
    const std::vector<float> wf =
        test::random_floats(static_cast<size_t>(s.rows) * s.cols, ++seed, 1.0f / std::sqrt(static_cast<float>(s.cols)));
    std::vector<uint16_t> wb(wf.size());
    for (size_t j = 0; j < wf.size(); ++j) wb[j] = float_to_bf16(wf[j]);
    std::vector<float> y(s.rows);
    for (int r = 0; r < s.rows; ++r) {
      double sum = 0;
      for (int c = 0; c < s.cols; ++c) sum += static_cast<double>(bf16_to_float(wb[static_cast<size_t>(r) * s.cols + c])) * x[c];
      y[r] = static_cast<float>(sum);
    }
    weights.push_back(DeviceBuffer<uint16_t>::from(wb));
    acts.emplace_back(s.rows);
    ref.push_back(std::move(y));
  }
  for (size_t i = 0; i < std::size(specs); ++i)
    ops.push_back({weights[i].get(), specs[i].rows, specs[i].cols, acts[specs[i].input].get(), acts[i + 1].get()});
  cuda::GemvChain chain(ops);
  for (int run = 0; run < 2; ++run) {  // a second run: the completion counters start from zero again
    CAPTURE(run);
    for (size_t i = 1; i < acts.size(); ++i) test::poison(acts[i].get(), acts[i].size());
    chain.run(nullptr);
    CUDA_CHECK(cudaDeviceSynchronize());
    for (size_t i = 0; i < ops.size(); ++i) {
      CAPTURE(i);
      const auto c = test::compare(acts[i + 1].download(), ref[i + 1], 1e-5, 1e-4);
      CHECK_MESSAGE(c.ok, c.report);
    }
  }
}
