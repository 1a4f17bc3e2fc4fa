// The fused peer all-reduce + residual add + RMSNorm (kernels/cuda/peer_reduce.h) on real GPUs, one rank a
// GPU: it gives exactly the bits of summing the ranks' partial rows in rank order and then add_rmsnorm,
// pushed (few rows) and pulled (more; for one row a CTA and for several), call after call, a pushed rank's
// partial given as rows or as the MoE's slot rows (summed by the kernel, moe_combine's bits). Runs where every
// rank has a GPU of its own and the ranks could map each other's buffers; elsewhere (CI) it says why and
// checks nothing. (Its first runs failed now and then at 33-40 rows: DeviceBuffer's upload returned before
// its DMA ended, and the kernel, on a non-blocking stream, read stale inputs; device_buffer.h now waits.)
#if TACHYON_HAVE_CUDA

#include <doctest/doctest.h>
#include <mpi.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "comm/cuda/nccl_collectives.h"
#include "comm/cuda/peer_buffers.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/peer_reduce.h"
#include "../gpu/gpu_test_util.h"

using namespace tachyon;
using cuda::DeviceBuffer;

namespace {

bool every_rank_has_a_gpu(int world) {
  int gpus = 0;
  if (cudaGetDeviceCount(&gpus) != cudaSuccess) gpus = 0;
  cudaGetLastError();
  int mine = world >= 2 && gpus >= world ? 1 : 0, all = 0;
  MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return all == 1;
}

size_t bit_differences(const std::vector<float>& a, const std::vector<float>& b) {
  size_t n = 0;
  for (size_t i = 0; i < a.size(); ++i) n += std::memcmp(&a[i], &b[i], sizeof(float)) != 0;
  return n;
}

}  // namespace

TEST_CASE("gpu peer all-reduce + add + rmsnorm gives the bits of a rank-order sum then add_rmsnorm") {
  int world = 1, rank = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (!every_rank_has_a_gpu(world)) {
    MESSAGE("skipped: needs 2 or more ranks and a GPU for each");
    return;
  }
  CUDA_CHECK(cudaSetDevice(rank));
  comm::NcclComm nccl(MPI_COMM_WORLD, rank);
  cuda::Stream stream;
  const int max_rows = 40;
  const float eps = 1e-6f;
  // MiMo-V2.5-Pro's and gpt-oss-120b's hidden widths, and one whose float4s do not split evenly over a push
  // cluster's CTAs.
  for (int dim : {6144, 2880, 4100}) {
    comm::PeerBuffers peers(nccl, max_rows, dim, stream.get());
    if (!peers.available()) {
      MESSAGE("skipped: the ranks could not map each other's buffers (no peer access)");
      return;
    }
    const cuda::PeerReduce& view = peers.view();
    MESSAGE("dim ", dim, ": steps of at most ", view.push_rows, " rows push");
    CHECK(view.push_rows >= 8);  // this GPU holds at least 8 clusters of a push launch at once

    const auto w = test::random_floats(dim, 7, 0.2f, 1.0f);
    auto dw = DeviceBuffer<float>::from(w);
    uint64_t call = 0;
    // Row counts on both sides of the push / pull boundary (PeerReduce::kPushMaxRows) and up to and past
    // the pull's CTAs (PeerReduce::kBlocks), repeated and interleaved, so that both parities of both
    // ways' buffers are written and reused, the pull's by CTAs of one row and of two.
    static_assert(cuda::PeerReduce::kBlocks < 40, "some calls must give a pull CTA two rows");
    static_assert(cuda::PeerReduce::kPushMaxRows == 16, "the row counts below straddle 16 and 17");
    for (int rows : {1, 1, 3, 8, 16, 17, 9, 40, 8, 1, 40, 2, 16, 9, 33, 40, 17, 40, 1, 2}) {
      ++call;
      const size_t n = static_cast<size_t>(rows) * dim;
      // Every rank's partial (each rank makes all of them, to build the reference), and a shared x. Every
      // other call that pushes, a rank's partial comes as the MoE's slot rows ([rows, slots, dim], slots 8 or
      // 3), summed from zero in slot order as moe_combine does.
      const int slots = call % 2 == 0 && rows <= view.push_rows ? (call % 4 == 0 ? 8 : 3) : 0;
      std::vector<std::vector<float>> partials, slot_rows;
      for (int k = 0; k < world; ++k) {
        if (slots == 0) {
          partials.push_back(test::random_floats(n, 1000 * call + k));
          continue;
        }
        slot_rows.push_back(test::random_floats(n * slots, 1000 * call + k));
        std::vector<float> sum(n, 0.0f);
        for (int r = 0; r < rows; ++r)
          for (int j = 0; j < slots; ++j)
            for (int i = 0; i < dim; ++i)
              sum[static_cast<size_t>(r) * dim + i] += slot_rows.back()[(static_cast<size_t>(r) * slots + j) * dim + i];
        partials.push_back(std::move(sum));
      }
      const auto x0 = test::random_floats(n, 1000 * call + 999);
      std::vector<float> delta(n);
      for (size_t i = 0; i < n; ++i) {
        float d = partials[0][i];
        for (int k = 1; k < world; ++k) d += partials[k][i];
        delta[i] = d;
      }

      auto dpartial = DeviceBuffer<float>::from(slots == 0 ? partials[rank] : slot_rows[rank]);
      auto dx = DeviceBuffer<float>::from(x0);
      DeviceBuffer<float> dy(n);
      test::poison(dy.get(), n);
      cuda::peer_all_reduce_add_rmsnorm(view, dpartial.get(), dx.get(), dw.get(), rows, dim, eps, dy.get(),
                                        stream.get(), slots);
      stream.sync();

      auto ddelta = DeviceBuffer<float>::from(delta);
      auto rx = DeviceBuffer<float>::from(x0);
      DeviceBuffer<float> ry(n);
      cuda::add_rmsnorm(ddelta.get(), rx.get(), dw.get(), rows, dim, eps, ry.get(), stream.get());
      stream.sync();

      INFO("rank ", rank, " of ", world, ", dim ", dim, ", call ", call, ", rows ", rows, ", slots ", slots);
      CHECK(bit_differences(dx.download(), rx.download()) == 0);
      CHECK(bit_differences(dy.download(), ry.download()) == 0);
    }
  }
}

#endif  // TACHYON_HAVE_CUDA
