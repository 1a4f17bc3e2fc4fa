#include "kernels/cpu/matmul.h"

#include <vector>

namespace tachyon::cpu {

float dot(const float* a, const float* b, size_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
  for (; i < n; ++i) acc[i % 8] += a[i] * b[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

void matmul(const float* x, size_t m, const MatrixView& w, float* y) {
  std::vector<float> row(w.cols);
  for (size_t r = 0; r < w.rows; ++r) {
    w.dequantize_row(r, row.data());
    for (size_t i = 0; i < m; ++i) y[i * w.rows + r] = dot(x + i * w.cols, row.data(), w.cols);
  }
}

void add_bias(float* y, size_t m, size_t n, const float* bias) {
  for (size_t i = 0; i < m; ++i)
    for (size_t j = 0; j < n; ++j) y[i * n + j] += bias[j];
}

}  // namespace tachyon::cpu
