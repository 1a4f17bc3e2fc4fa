// y[m, rows] = x[m, cols] . W^T for a weight W[rows, cols] in its stored format (f32, bf16, fp8 with
// 128x128 block scales, mxfp4). Each weight row is dequantized once and dotted with every input row,
// so the result of one row of x never depends on the others (batch invariance).
#pragma once

#include <cstddef>

#include "model/weight.h"

namespace tachyon::cpu {

void matmul(const float* x, size_t m, const MatrixView& w, float* y);

// y[m, n] += bias[n] for every row.
void add_bias(float* y, size_t m, size_t n, const float* bias);

// Dot product with a fixed summation order (eight interleaved partial sums), shared by every CPU op
// that needs one so that equal inputs give bit-equal outputs everywhere.
float dot(const float* a, const float* b, size_t n);

}  // namespace tachyon::cpu
