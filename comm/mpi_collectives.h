// Collectives over MPI on host buffers: the CPU backend's communication, and what CI exercises with
// several ranks on one machine.
#pragma once

#include <mpi.h>

#include "comm/collectives.h"

namespace tachyon::comm {

class MpiCollectives final : public Collectives {
 public:
  explicit MpiCollectives(MPI_Comm comm);
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void all_reduce(void* data, size_t count, DType dtype, ReduceOp op) override;
  void all_gather(const void* in, size_t count, DType dtype, void* out) override;
  void all_gather_v(const void* in, const std::vector<size_t>& counts, DType dtype, void* out) override;
  void reduce_scatter(const void* in, const std::vector<size_t>& counts, DType dtype, ReduceOp op, void* out) override;
  void broadcast(void* data, size_t count, DType dtype, int root) override;
  void all_to_all_v(const void* in, const std::vector<size_t>& send_counts, void* out,
                    const std::vector<size_t>& recv_counts, DType dtype) override;
  void barrier() override;

 private:
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
};

}  // namespace tachyon::comm
