#include "kernels/cpu/argmax.h"

namespace tachyon::cpu {

void row_argmax(const float* logits, size_t rows, size_t n, int32_t* out) {
  for (size_t r = 0; r < rows; ++r) {
    const float* row = logits + r * n;
    size_t best = 0;
    for (size_t i = 1; i < n; ++i)
      if (row[i] > row[best]) best = i;  // strict: a tie keeps the lower index
    out[r] = static_cast<int32_t>(best);
  }
}

}  // namespace tachyon::cpu
