#include "comm/world.h"

#include <fmt/format.h>

#include "comm/mpi_session.h"

namespace tachyon::comm {

World World::from_mpi(MPI_Comm comm) {
  World w;
  mpi_check(MPI_Comm_rank(comm, &w.rank), "MPI_Comm_rank");
  mpi_check(MPI_Comm_size(comm, &w.size), "MPI_Comm_size");
  MPI_Comm node = MPI_COMM_NULL;
  mpi_check(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, w.rank, MPI_INFO_NULL, &node), "MPI_Comm_split_type");
  MPI_Comm_rank(node, &w.local_rank);
  MPI_Comm_size(node, &w.local_size);
  MPI_Comm_free(&node);
  char name[MPI_MAX_PROCESSOR_NAME];
  int len = 0;
  MPI_Get_processor_name(name, &len);
  w.host.assign(name, len);
  return w;
}

std::string World::describe() const {
  return fmt::format("rank {}/{} on {} (local {}/{}), {}", rank, size, host, local_rank, local_size,
                     device >= 0 ? fmt::format("GPU {}", device) : std::string("CPU"));
}

}  // namespace tachyon::comm
