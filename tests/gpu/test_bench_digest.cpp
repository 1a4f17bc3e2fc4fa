// The kernel bench's output digest (kernels/cuda/bench.h, TACHYON_BENCH_DIGEST=1): two builds' rows are compared by it,
// so it must be a pure function of the output's bytes.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "kernels/cuda/bench.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_buffer.h"
#include "model/fnv1a.h"

using namespace tachyon;

TEST_CASE("gpu bench: the output digest is the FNV-1a hash of the device bytes, and sees a one-ulp change") {
  std::vector<float> host(1000);
  for (size_t i = 0; i < host.size(); ++i) host[i] = 0.001f * static_cast<float>(i) - 0.3f;
  cuda::DeviceBuffer<float> dev(host.size());
  CUDA_CHECK(cudaMemcpy(dev.get(), host.data(), dev.bytes(), cudaMemcpyHostToDevice));
  const uint64_t h = fnv1a64(std::span(reinterpret_cast<const unsigned char*>(host.data()), dev.bytes()));
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
  const std::string digest = cuda::output_digest(dev.get(), dev.bytes(), nullptr);
  CHECK(digest == hex);
  CHECK(cuda::output_digest(dev.get(), dev.bytes(), nullptr) == digest);  // the same bytes, the same digest
  host[500] = std::nextafter(host[500], 1.0f);  // one ulp
  CUDA_CHECK(cudaMemcpy(dev.get(), host.data(), dev.bytes(), cudaMemcpyHostToDevice));
  CHECK(cuda::output_digest(dev.get(), dev.bytes(), nullptr) != digest);
}
