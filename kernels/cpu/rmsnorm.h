// RMSNorm: y = x / sqrt(mean(x^2) + eps) * weight, over rows of width `dim`.
// Shapes: x, y [rows, dim]; weight [dim]. y may alias x. Used for the layer norms and, with dim = head
// dimension, for Qwen3's per-head QK-norm.
#pragma once

#include <cstddef>

namespace tachyon::cpu {

void rmsnorm(const float* x, const float* weight, size_t rows, size_t dim, float eps, float* y);

}  // namespace tachyon::cpu
