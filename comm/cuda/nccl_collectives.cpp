#include "comm/cuda/nccl_collectives.h"

#include <spdlog/spdlog.h>

#include "comm/mpi_session.h"
#include "model/error.h"

namespace tachyon::comm {

void nccl_check(ncclResult_t r, const char* what) {
  if (r == ncclSuccess) return;
  throw Error(fmt::format("{} failed: {} ({})", what, ncclGetErrorString(r), ncclGetLastError(nullptr)));
}

#define NCCL_CALL(expr) nccl_check((expr), #expr)

namespace {
ncclDataType_t nccl_type(DType t) {
  switch (t) {
    case DType::F32: return ncclFloat32;
    case DType::F64: return ncclFloat64;
    case DType::I32: return ncclInt32;
    case DType::I64: return ncclInt64;
    case DType::U64: return ncclUint64;
    case DType::U8: return ncclUint8;
  }
  return ncclUint8;
}

ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return ncclSum;
    case ReduceOp::Max: return ncclMax;
    case ReduceOp::Min: return ncclMin;
  }
  return ncclSum;
}

const uint8_t* offset(const void* p, size_t elements, DType t) {
  return static_cast<const uint8_t*>(p) + elements * dtype_size(t);
}
uint8_t* offset(void* p, size_t elements, DType t) { return static_cast<uint8_t*>(p) + elements * dtype_size(t); }
}  // namespace

NcclComm::NcclComm(MPI_Comm mpi, int device) {
  mpi_check(MPI_Comm_rank(mpi, &rank_), "MPI_Comm_rank");
  mpi_check(MPI_Comm_size(mpi, &size_), "MPI_Comm_size");
  ncclUniqueId id;
  if (rank_ == 0) NCCL_CALL(ncclGetUniqueId(&id));
  mpi_check(MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, mpi), "MPI_Bcast(nccl unique id)");
  if (cudaSetDevice(device) != cudaSuccess) throw Error(fmt::format("cudaSetDevice({}) failed", device));
  NCCL_CALL(ncclCommInitRank(&comm_, size_, id, rank_));
}

NcclComm::NcclComm(int device) {
  ncclUniqueId id;
  NCCL_CALL(ncclGetUniqueId(&id));
  if (cudaSetDevice(device) != cudaSuccess) throw Error(fmt::format("cudaSetDevice({}) failed", device));
  NCCL_CALL(ncclCommInitRank(&comm_, 1, id, 0));
}

NcclComm::~NcclComm() {
  if (!comm_) return;
  ncclResult_t async = ncclSuccess;
  ncclCommGetAsyncError(comm_, &async);
  // After a failure a clean destroy can hang waiting for dead peers; abort instead.
  const ncclResult_t r = async == ncclSuccess ? ncclCommDestroy(comm_) : ncclCommAbort(comm_);
  if (r != ncclSuccess) spdlog::warn("NCCL communicator teardown: {}", ncclGetErrorString(r));
}

void NcclComm::check_async_error() const {
  ncclResult_t async = ncclSuccess;
  NCCL_CALL(ncclCommGetAsyncError(comm_, &async));
  nccl_check(async, "NCCL asynchronous operation");
}

void NcclCollectives::all_reduce(void* data, size_t count, DType dtype, ReduceOp op) {
  NCCL_CALL(ncclAllReduce(data, data, count, nccl_type(dtype), nccl_op(op), comm_.get(), stream_));
}

void NcclCollectives::all_gather(const void* in, size_t count, DType dtype, void* out) {
  NCCL_CALL(ncclAllGather(in, out, count, nccl_type(dtype), comm_.get(), stream_));
}

void NcclCollectives::all_gather_v(const void* in, const std::vector<size_t>& counts, DType dtype, void* out) {
  // Each rank broadcasts its part into place; grouped, they run as one collective.
  NCCL_CALL(ncclGroupStart());
  size_t at = 0;
  for (int r = 0; r < size(); ++r) {
    if (counts[r]) NCCL_CALL(ncclBroadcast(r == rank() ? in : nullptr, offset(out, at, dtype), counts[r], nccl_type(dtype), r,
                                           comm_.get(), stream_));
    at += counts[r];
  }
  NCCL_CALL(ncclGroupEnd());
}

void NcclCollectives::reduce_scatter(const void* in, const std::vector<size_t>& counts, DType dtype, ReduceOp op, void* out) {
  bool equal = true;
  for (size_t c : counts) equal &= c == counts[0];
  if (equal) {
    NCCL_CALL(ncclReduceScatter(in, out, counts[0], nccl_type(dtype), nccl_op(op), comm_.get(), stream_));
    return;
  }
  NCCL_CALL(ncclGroupStart());
  size_t at = 0;
  for (int r = 0; r < size(); ++r) {
    if (counts[r]) NCCL_CALL(ncclReduce(offset(in, at, dtype), r == rank() ? out : nullptr, counts[r], nccl_type(dtype),
                                        nccl_op(op), r, comm_.get(), stream_));
    at += counts[r];
  }
  NCCL_CALL(ncclGroupEnd());
}

void NcclCollectives::broadcast(void* data, size_t count, DType dtype, int root) {
  NCCL_CALL(ncclBroadcast(data, data, count, nccl_type(dtype), root, comm_.get(), stream_));
}

void NcclCollectives::all_to_all_v(const void* in, const std::vector<size_t>& send_counts, void* out,
                                   const std::vector<size_t>& recv_counts, DType dtype) {
  NCCL_CALL(ncclGroupStart());
  size_t s = 0, r = 0;
  for (int p = 0; p < size(); ++p) {
    if (send_counts[p]) NCCL_CALL(ncclSend(offset(in, s, dtype), send_counts[p], nccl_type(dtype), p, comm_.get(), stream_));
    if (recv_counts[p]) NCCL_CALL(ncclRecv(offset(out, r, dtype), recv_counts[p], nccl_type(dtype), p, comm_.get(), stream_));
    s += send_counts[p];
    r += recv_counts[p];
  }
  NCCL_CALL(ncclGroupEnd());
}

void NcclCollectives::barrier() {
  // A one-element all-reduce on the stream, then wait for it.
  void* scratch = nullptr;
  if (cudaMallocAsync(&scratch, sizeof(float), stream_) != cudaSuccess) throw Error("cudaMallocAsync failed in barrier");
  NCCL_CALL(ncclAllReduce(scratch, scratch, 1, ncclFloat32, ncclSum, comm_.get(), stream_));
  cudaFreeAsync(scratch, stream_);
  if (cudaStreamSynchronize(stream_) != cudaSuccess) throw Error("cudaStreamSynchronize failed in barrier");
}

}  // namespace tachyon::comm
