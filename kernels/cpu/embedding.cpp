#include "kernels/cpu/embedding.h"

#include <algorithm>

namespace tachyon::cpu {

void embed(const int32_t* ids, size_t n, const MatrixView& table, int64_t vocab_begin, float* out) {
  for (size_t i = 0; i < n; ++i) {
    float* row = out + i * table.cols;
    const int64_t local = static_cast<int64_t>(ids[i]) - vocab_begin;
    if (local >= 0 && local < static_cast<int64_t>(table.rows)) table.dequantize_row(static_cast<size_t>(local), row);
    else std::fill(row, row + table.cols, 0.0f);
  }
}

}  // namespace tachyon::cpu
