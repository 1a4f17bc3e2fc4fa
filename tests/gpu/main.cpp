// The doctest runner for GPU tests (ctest label `gpu`): every CUDA kernel against its CPU twin, and the
// whole CUDA step against the CPU reference. Exits with 77 (ctest: skipped) on a machine without a
// GPU, such as CI, which still compiles them. (No MPI here: the tests start `mpirun` themselves, which
// Open MPI refuses from inside an MPI process.)
#define DOCTEST_CONFIG_IMPLEMENT
#include <cuda_runtime.h>
#include <doctest/doctest.h>

#include <cstdio>

int main(int argc, char** argv) {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("no CUDA device: GPU tests skipped\n");
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
