#include <cstring>

#include "comm/collectives.h"
#include "model/error.h"

namespace tachyon::comm {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: case DType::I32: return 4;
    case DType::F64: case DType::I64: case DType::U64: return 8;
    case DType::U8: return 1;
  }
  return 0;
}

void SingleProcess::all_gather(const void* in, size_t count, DType dtype, void* out) {
  if (in != out) std::memmove(out, in, count * dtype_size(dtype));
}

void SingleProcess::all_gather_v(const void* in, const std::vector<size_t>& counts, DType dtype, void* out) {
  TACHYON_CHECK(counts.size() == 1, "counts for {} ranks", counts.size());
  all_gather(in, counts[0], dtype, out);
}

void SingleProcess::reduce_scatter(const void* in, const std::vector<size_t>& counts, DType dtype, ReduceOp, void* out) {
  TACHYON_CHECK(counts.size() == 1, "counts for {} ranks", counts.size());
  all_gather(in, counts[0], dtype, out);
}

void SingleProcess::all_to_all_v(const void* in, const std::vector<size_t>& send_counts, void* out,
                                 const std::vector<size_t>& recv_counts, DType dtype) {
  TACHYON_CHECK(send_counts.size() == 1 && recv_counts.size() == 1 && send_counts[0] == recv_counts[0],
                "one rank sends to itself");
  all_gather(in, send_counts[0], dtype, out);
}

}  // namespace tachyon::comm
