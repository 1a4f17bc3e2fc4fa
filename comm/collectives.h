// One interface for the collectives the runtime needs. Implementations: SingleProcess (one rank, plain
// copies), MpiCollectives (host buffers; the CPU backend and CI), NcclCollectives (device buffers).
// Buffers live where the implementation expects them (host for MPI, device for NCCL). Counts are in
// elements of `dtype`. Every rank must call every collective in the same order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tachyon::comm {

enum class DType { F32, F64, I32, I64, U64, U8 };
enum class ReduceOp { Sum, Max, Min };

size_t dtype_size(DType t);

class Collectives {
 public:
  virtual ~Collectives() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;

  // In place: data[i] = op over ranks of data[i].
  virtual void all_reduce(void* data, size_t count, DType dtype, ReduceOp op) = 0;
  // Every rank gives `count` elements; `out` receives size()*count of them in rank order.
  virtual void all_gather(const void* in, size_t count, DType dtype, void* out) = 0;
  // Rank r gives counts[r] elements; `out` receives their concatenation in rank order.
  virtual void all_gather_v(const void* in, const std::vector<size_t>& counts, DType dtype, void* out) = 0;
  // `in` holds counts[0] elements for rank 0, then counts[1] for rank 1, ...; rank r receives in `out`
  // the reduction over ranks of its counts[r] elements.
  virtual void reduce_scatter(const void* in, const std::vector<size_t>& counts, DType dtype, ReduceOp op,
                              void* out) = 0;
  virtual void broadcast(void* data, size_t count, DType dtype, int root) = 0;
  // Rank r sends send_counts[p] consecutive elements of `in` to each rank p (in rank order) and receives
  // recv_counts[p] elements from each rank p into `out` (in rank order).
  virtual void all_to_all_v(const void* in, const std::vector<size_t>& send_counts, void* out,
                            const std::vector<size_t>& recv_counts, DType dtype) = 0;
  virtual void barrier() = 0;
};

// The one-rank case: every collective is a copy (or nothing). Used when Tachyon runs without a
// launcher and by tests of single-rank code paths.
class SingleProcess final : public Collectives {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void all_reduce(void*, size_t, DType, ReduceOp) override {}
  void all_gather(const void* in, size_t count, DType dtype, void* out) override;
  void all_gather_v(const void* in, const std::vector<size_t>& counts, DType dtype, void* out) override;
  void reduce_scatter(const void* in, const std::vector<size_t>& counts, DType dtype, ReduceOp op, void* out) override;
  void broadcast(void*, size_t, DType, int) override {}
  void all_to_all_v(const void* in, const std::vector<size_t>& send_counts, void* out,
                    const std::vector<size_t>& recv_counts, DType dtype) override;
  void barrier() override {}
};

}  // namespace tachyon::comm
