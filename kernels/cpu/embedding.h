// Embedding gather from a vocabulary slice: out[i] = table[ids[i] - vocab_begin] when the id falls in
// [vocab_begin, vocab_begin + table.rows), zeros otherwise (another rank holds that row; summing the
// ranks' outputs gives the full embedding exactly, since each sum has one non-zero term).
// out [n, table.cols].
#pragma once

#include <cstddef>
#include <cstdint>

#include "model/weight.h"

namespace tachyon::cpu {

void embed(const int32_t* ids, size_t n, const MatrixView& table, int64_t vocab_begin, float* out);

}  // namespace tachyon::cpu
