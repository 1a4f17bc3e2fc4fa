// The doctest runner for multi-rank tests, started by ctest as `mpirun -np N tachyon_mpi_tests`.
// Every rank runs every test case; the verdict is the worst over all ranks, so a check failing on any
// rank fails the run.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <mpi.h>

#include "comm/mpi_session.h"

int main(int argc, char** argv) {
  tachyon::comm::MpiSession mpi(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  doctest::Context context(argc, argv);
  if (rank != 0) context.setOption("minimal", true);  // failures still print, on every rank
  int failed = context.run();
  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return any_failed;
}
