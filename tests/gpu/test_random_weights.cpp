// Random benchmark weights made on the GPU (kernels/cuda/random_fill.h): every format decodes, through
// the host's own decoders, to finite values of the asked mean and spread, so that `tachyon bench step`
// runs a model whose activations stay of order one.
#include <doctest/doctest.h>

#include <cmath>

#include "kernels/cuda/device_weight.h"
#include "kernels/cuda/random_fill.h"

using namespace tachyon;

TEST_CASE("gpu random weights: finite values of the asked mean and spread in every stored format") {
  struct Case {
    WeightFormat format;
    float mean, stddev;
    double tolerance;  // relative, on the standard deviation
  };
  // MXFP4 scales are powers of two: the spread is right within a factor 2^0.5.
  for (const Case& k : {Case{WeightFormat::F32, 1.0f, 0.05f, 0.02}, Case{WeightFormat::BF16, 0.0f, 1.0f, 0.02},
                        Case{WeightFormat::FP8, 0.0f, 0.02f, 0.05}, Case{WeightFormat::MXFP4, 0.0f, 0.02f, 0.42}}) {
    CAPTURE(format_name(k.format));
    const std::vector<int64_t> shape = k.format == WeightFormat::F32 ? std::vector<int64_t>{4096}
                                                                      : std::vector<int64_t>{3, 200, 256};
    cuda::DeviceWeight w(k.format, shape);
    cuda::fill_random_weight(k.format, w.data().get(), w.data().bytes(), w.scales().get(), w.scales().bytes(), k.mean,
                             k.stddev, 11, nullptr);
    HostWeight h;
    h.format = k.format;
    h.shape = shape;
    h.data = w.data().download();
    h.scales = w.scales().download();
    const std::vector<float> v = h.to_float();
    double sum = 0, sq = 0;
    bool finite = true;
    for (float x : v) {
      finite &= std::isfinite(x);
      sum += x;
    }
    const double mean = sum / v.size();
    for (float x : v) sq += (x - mean) * (x - mean);
    const double stddev = std::sqrt(sq / v.size());
    CHECK(finite);
    CHECK(std::fabs(mean - k.mean) < 0.05 * k.stddev + 1e-3 * std::fabs(k.mean));
    CHECK(std::fabs(stddev / k.stddev - 1.0) < k.tolerance);
  }
}
