// Collectives over NCCL on device buffers, enqueued on one CUDA stream (so that a whole step, its
// communication included, can be captured in a CUDA graph). The communicator is created from a unique
// id that rank 0 broadcasts over MPI. Variable-count collectives (all-gather-v, reduce-scatter with
// uneven counts, all-to-all-v) are grouped point-to-point or rooted operations, as NCCL has no
// built-in form of them.
#pragma once

#include <cuda_runtime.h>
#include <mpi.h>
#include <nccl.h>

#include "comm/collectives.h"

namespace tachyon::comm {

// Owns an ncclComm_t: created collectively, destroyed (or aborted after an error) in the destructor.
class NcclComm {
 public:
  NcclComm(MPI_Comm mpi, int device);
  // A communicator of this process alone (no MPI needed): tests and single-GPU tools.
  explicit NcclComm(int device);
  ~NcclComm();
  NcclComm(const NcclComm&) = delete;
  NcclComm& operator=(const NcclComm&) = delete;
  ncclComm_t get() const { return comm_; }
  int rank() const { return rank_; }
  int size() const { return size_; }
  // Raises an error if NCCL reported an asynchronous failure (a peer died, a network error).
  void check_async_error() const;

 private:
  ncclComm_t comm_ = nullptr;
  int rank_ = 0, size_ = 1;
};

class NcclCollectives final : public Collectives {
 public:
  NcclCollectives(NcclComm& comm, cudaStream_t stream) : comm_(comm), stream_(stream) {}
  int rank() const override { return comm_.rank(); }
  int size() const override { return comm_.size(); }
  void all_reduce(void* data, size_t count, DType dtype, ReduceOp op) override;
  void all_gather(const void* in, size_t count, DType dtype, void* out) override;
  void all_gather_v(const void* in, const std::vector<size_t>& counts, DType dtype, void* out) override;
  void reduce_scatter(const void* in, const std::vector<size_t>& counts, DType dtype, ReduceOp op, void* out) override;
  void broadcast(void* data, size_t count, DType dtype, int root) override;
  void all_to_all_v(const void* in, const std::vector<size_t>& send_counts, void* out,
                    const std::vector<size_t>& recv_counts, DType dtype) override;
  void barrier() override;
  cudaStream_t stream() const { return stream_; }

 private:
  NcclComm& comm_;
  cudaStream_t stream_;
};

// Checks an NCCL result; throws tachyon::Error naming the call and NCCL's message.
void nccl_check(ncclResult_t r, const char* what);

}  // namespace tachyon::comm
