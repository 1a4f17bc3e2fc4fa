// Greedy choice per row: out[r] = the index of the largest of logits[r, 0..n), the lowest index among
// equal maxima (the rule every greedy choice in Tachyon follows). Shapes: logits [rows, n]; out [rows].
#pragma once

#include <cstddef>
#include <cstdint>

namespace tachyon::cpu {

void row_argmax(const float* logits, size_t rows, size_t n, int32_t* out);

// The greedy choice of one row of n logits.
inline int32_t argmax(const float* logits, size_t n) {
  int32_t best = 0;
  row_argmax(logits, 1, n, &best);
  return best;
}

}  // namespace tachyon::cpu
