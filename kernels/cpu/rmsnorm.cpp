#include "kernels/cpu/rmsnorm.h"

#include <cmath>

namespace tachyon::cpu {

void rmsnorm(const float* x, const float* weight, size_t rows, size_t dim, float eps, float* y) {
  for (size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * dim;
    float* yr = y + r * dim;
    double sum_sq = 0.0;  // double: the reference should not lose bits on wide rows
    for (size_t i = 0; i < dim; ++i) sum_sq += static_cast<double>(xr[i]) * xr[i];
    const float inv_rms = 1.0f / std::sqrt(static_cast<float>(sum_sq / dim) + eps);
    for (size_t i = 0; i < dim; ++i) yr[i] = xr[i] * inv_rms * weight[i];
  }
}

}  // namespace tachyon::cpu
