// The memory of the fused peer all-reduce (kernels/cuda/peer_reduce.h): this rank's buffer and flags,
// exported with CUDA IPC, and every other rank's, mapped into this process. Collective over an NCCL
// communicator: the IPC handles and each rank's host go round with an NCCL all-gather, and the ranks agree
// (an NCCL all-reduce of a yes/no) on whether every rank mapped every other one. When they do not (ranks on
// several nodes, GPUs without peer access, more than 8 ranks, one rank), available() is false and the step
// keeps NCCL's all-reduce.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>

#include "comm/cuda/nccl_collectives.h"
#include "kernels/cuda/peer_reduce.h"

namespace tachyon::comm {

class PeerBuffers {
 public:
  // Room for max_rows rows of dim floats per slot. Synchronizes `stream`.
  PeerBuffers(NcclComm& comm, int max_rows, int dim, cudaStream_t stream);
  ~PeerBuffers();
  PeerBuffers(const PeerBuffers&) = delete;
  PeerBuffers& operator=(const PeerBuffers&) = delete;

  bool available() const { return available_; }
  const cuda::PeerReduce& view() const { return view_; }

 private:
  void release();

  bool available_ = false;
  cuda::PeerReduce view_;
  void* own_ = nullptr;          // this rank's buffers, flags and lines (exported)
  uint32_t* epoch_ = nullptr;    // this rank's launch counters (the pull's, then the push's)
  void* mapped_[cuda::PeerReduce::kMaxRanks] = {};  // other ranks' buffers, opened here
};

// Process-wide switch (default on): `tachyon bench step --no-peer-all-reduce` turns the fused peer
// all-reduce off to measure what it gives against NCCL's.
bool peer_all_reduce_enabled();
void set_peer_all_reduce_enabled(bool enabled);

}  // namespace tachyon::comm
