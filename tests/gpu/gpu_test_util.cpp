#include "gpu_test_util.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace tachyon::test {

std::vector<float> random_floats(size_t n, uint64_t seed, float stddev, float mean) {
  auto mix = [](uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  std::vector<float> v(n);
  for (size_t i = 0; i < n; i += 2) {
    const double u1 = (static_cast<double>(mix(seed * 0x9e3779b97f4a7c15ull + 2 * i + 1) >> 11) + 0.5) * 0x1.0p-53;
    const double u2 = static_cast<double>(mix(seed * 0x9e3779b97f4a7c15ull + 2 * i + 2) >> 11) * 0x1.0p-53;
    const double r = std::sqrt(-2.0 * std::log(u1));
    v[i] = static_cast<float>(mean + stddev * r * std::cos(2 * M_PI * u2));
    if (i + 1 < n) v[i + 1] = static_cast<float>(mean + stddev * r * std::sin(2 * M_PI * u2));
  }
  return v;
}

Comparison compare(const std::vector<float>& got, const std::vector<float>& ref, double atol, double rtol) {
  Comparison c;
  if (got.size() != ref.size()) {
    c.ok = false;
    c.report = fmt::format("size {} != reference size {}", got.size(), ref.size());
    return c;
  }
  size_t worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double d = std::fabs(double(got[i]) - ref[i]);
    const bool bad = !(d <= atol + rtol * std::fabs(ref[i]));  // NaN fails
    if (d > c.max_abs || std::isnan(d)) { c.max_abs = std::isnan(d) ? INFINITY : d; worst = i; }
    if (std::fabs(ref[i]) > 1e-6) c.max_rel = std::max(c.max_rel, d / std::fabs(ref[i]));
    if (bad) {
      if (c.mismatches < 5) c.report += fmt::format("  [{}] got {} want {}\n", i, got[i], ref[i]);
      ++c.mismatches;
    }
  }
  c.ok = c.mismatches == 0;
  c.report = fmt::format("max abs error {:.3g} at [{}] (got {}, want {}), max rel {:.3g}, {} of {} outside atol {} rtol {}\n",
                         c.max_abs, worst, got.empty() ? 0.f : got[worst], ref.empty() ? 0.f : ref[worst], c.max_rel,
                         c.mismatches, got.size(), atol, rtol) + c.report;
  return c;
}

void poison(float* device, size_t n) {
  std::vector<float> nans(n, std::numeric_limits<float>::quiet_NaN());
  CUDA_CHECK(cudaMemcpy(device, nans.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  cuda::finish_setup_copies();
}

size_t differing_bits(const std::vector<float>& a, const std::vector<float>& b, size_t n) {
  if (a.size() < n || b.size() < n)
    throw std::invalid_argument(fmt::format("differing_bits: {} elements asked of {} and {}", n, a.size(), b.size()));
  size_t differ = 0;
  for (size_t i = 0; i < n; ++i) differ += std::memcmp(&a[i], &b[i], sizeof(float)) != 0;
  return differ;
}

}  // namespace tachyon::test
