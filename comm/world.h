// Where this rank runs: its rank and the world size, its node-local rank (from
// MPI_Comm_split_type(MPI_COMM_TYPE_SHARED), which works under mpirun and under `srun --mpi=pmix`
// alike), its host, and the GPU it should use (the node-local rank, modulo the GPUs it can see).
#pragma once

#include <mpi.h>

#include <string>

namespace tachyon::comm {

struct World {
  int rank = 0;
  int size = 1;
  int local_rank = 0;
  int local_size = 1;
  std::string host;
  int device = -1;  // GPU index, -1 on the CPU backend

  static World from_mpi(MPI_Comm comm);
  std::string describe() const;  // "rank 1/4 on host (local 1/4), GPU 1"
};

}  // namespace tachyon::comm
