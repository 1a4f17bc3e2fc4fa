#include "comm/mpi_collectives.h"

#include <climits>
#include <vector>

#include "comm/mpi_session.h"
#include "model/error.h"

namespace tachyon::comm {

namespace {
MPI_Datatype mpi_type(DType t) {
  switch (t) {
    case DType::F32: return MPI_FLOAT;
    case DType::F64: return MPI_DOUBLE;
    case DType::I32: return MPI_INT32_T;
    case DType::I64: return MPI_INT64_T;
    case DType::U64: return MPI_UINT64_T;
    case DType::U8: return MPI_UINT8_T;
  }
  return MPI_DATATYPE_NULL;
}

MPI_Op mpi_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return MPI_SUM;
    case ReduceOp::Max: return MPI_MAX;
    case ReduceOp::Min: return MPI_MIN;
  }
  return MPI_OP_NULL;
}

int as_int(size_t n) {
  TACHYON_CHECK(n <= static_cast<size_t>(INT_MAX), "MPI message of {} elements exceeds INT_MAX", n);
  return static_cast<int>(n);
}

// MPI wants int counts and displacements.
void counts_and_displacements(const std::vector<size_t>& counts, std::vector<int>& c, std::vector<int>& d) {
  c.resize(counts.size());
  d.resize(counts.size());
  size_t offset = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    c[i] = as_int(counts[i]);
    d[i] = as_int(offset);
    offset += counts[i];
  }
}
}  // namespace

MpiCollectives::MpiCollectives(MPI_Comm comm) : comm_(comm) {
  mpi_check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  mpi_check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
}

void MpiCollectives::all_reduce(void* data, size_t count, DType dtype, ReduceOp op) {
  TACHYON_CHECK(dtype != DType::U8, "no reductions on bytes");
  mpi_check(MPI_Allreduce(MPI_IN_PLACE, data, as_int(count), mpi_type(dtype), mpi_op(op), comm_), "MPI_Allreduce");
}

void MpiCollectives::all_gather(const void* in, size_t count, DType dtype, void* out) {
  mpi_check(MPI_Allgather(in, as_int(count), mpi_type(dtype), out, as_int(count), mpi_type(dtype), comm_), "MPI_Allgather");
}

void MpiCollectives::all_gather_v(const void* in, const std::vector<size_t>& counts, DType dtype, void* out) {
  TACHYON_CHECK(static_cast<int>(counts.size()) == size_, "{} counts for {} ranks", counts.size(), size_);
  std::vector<int> c, d;
  counts_and_displacements(counts, c, d);
  mpi_check(MPI_Allgatherv(in, c[rank_], mpi_type(dtype), out, c.data(), d.data(), mpi_type(dtype), comm_),
            "MPI_Allgatherv");
}

void MpiCollectives::reduce_scatter(const void* in, const std::vector<size_t>& counts, DType dtype, ReduceOp op, void* out) {
  TACHYON_CHECK(static_cast<int>(counts.size()) == size_, "{} counts for {} ranks", counts.size(), size_);
  std::vector<int> c, d;
  counts_and_displacements(counts, c, d);
  mpi_check(MPI_Reduce_scatter(in, out, c.data(), mpi_type(dtype), mpi_op(op), comm_), "MPI_Reduce_scatter");
}

void MpiCollectives::broadcast(void* data, size_t count, DType dtype, int root) {
  mpi_check(MPI_Bcast(data, as_int(count), mpi_type(dtype), root, comm_), "MPI_Bcast");
}

void MpiCollectives::all_to_all_v(const void* in, const std::vector<size_t>& send_counts, void* out,
                                  const std::vector<size_t>& recv_counts, DType dtype) {
  TACHYON_CHECK(static_cast<int>(send_counts.size()) == size_ && static_cast<int>(recv_counts.size()) == size_,
                "all-to-all counts for {} ranks", size_);
  std::vector<int> sc, sd, rc, rd;
  counts_and_displacements(send_counts, sc, sd);
  counts_and_displacements(recv_counts, rc, rd);
  mpi_check(MPI_Alltoallv(in, sc.data(), sd.data(), mpi_type(dtype), out, rc.data(), rd.data(), mpi_type(dtype), comm_),
            "MPI_Alltoallv");
}

void MpiCollectives::barrier() { mpi_check(MPI_Barrier(comm_), "MPI_Barrier"); }

}  // namespace tachyon::comm
