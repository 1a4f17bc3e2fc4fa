#include "apps/bench_load_cli.h"

#include <fcntl.h>
#include <mpi.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "apps/options.h"
#include "comm/mpi_session.h"
#include "comm/world.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "model/error.h"
#include "runtime/backend.h"
#include "runtime/bench_report.h"
#include "runtime/shard_plan.h"

namespace tachyon::apps {

namespace {

// Drops the file's pages from this node's page cache (written back first: dirty pages cannot be
// dropped), so that the timed read comes from the disk even right after the file was written.
// Returns whether the kernel took the advice.
bool evict_from_page_cache(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  TACHYON_REQUIRE(fd >= 0, "{}: cannot open", path);
  const bool ok = ::fdatasync(fd) == 0 && ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

int run_bench_load(int argc, char** argv) {
  po::options_description opts("options");
  std::string model, device_name, moe, json_path;
  bool evict = false;
  opts.add_options()
      ("model", po::value(&model)->required(), "the target checkpoint (.h5)")
      ("device", po::value(&device_name)->default_value("auto"), "where each rank puts its shard: cuda, cpu, auto")
      ("moe-parallel", po::value(&moe)->default_value("auto"), "how experts are split over the ranks: tp, ep, or auto (as generate)")
      ("evict-cache", po::bool_switch(&evict),
       "drop the checkpoint from each node's page cache first (local rank 0 of each node), to time reads from disk")
      ("json", po::value(&json_path), "also write the result as JSON to this file (rank 0)");
  po::variables_map vm;
  if (!parse_options(argc, argv,
                     "usage: [mpirun -np N] tachyon bench load --model M.h5 [--device cuda|cpu|auto] [--moe-parallel tp|ep] "
                     "[--evict-cache] [--json FILE]",
                     opts, vm))
    return 0;
  comm::MpiSession mpi(&argc, &argv);
  comm::World world = comm::World::from_mpi(mpi.world());
  const Device device = resolve_device(device_name);
  if (device == Device::Cuda) world.device = world.local_rank % visible_gpus();

  CheckpointReader reader(model);
  const ModelConfig config = target_model_config(reader);
  const MoeParallel moe_plan = resolve_moe_parallel(moe);
  moe = moe_parallel_name(moe_plan);
  const ShardPlan plan = make_shard_plan(config, world.rank, world.size, moe_plan);

  int evicted = 1;
  if (evict && world.local_rank == 0) evicted = evict_from_page_cache(model) ? 1 : 0;
  comm::mpi_check(MPI_Allreduce(MPI_IN_PLACE, &evicted, 1, MPI_INT, MPI_MIN, mpi.world()), "MPI_Allreduce");
  // Every rank starts together; each times its own read (file -> host -> its device, tensor by tensor).
  comm::mpi_check(MPI_Barrier(mpi.world()), "MPI_Barrier");
  const auto start = std::chrono::steady_clock::now();
  const uint64_t bytes = load_shard(device, reader, config, plan, world.device, {});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  comm::mpi_check(MPI_Barrier(mpi.world()), "MPI_Barrier");
  const double all_done = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::vector<double> rank_seconds(world.size);
  std::vector<unsigned long long> rank_bytes(world.size);
  const unsigned long long my_bytes = bytes;
  comm::mpi_check(MPI_Gather(&seconds, 1, MPI_DOUBLE, rank_seconds.data(), 1, MPI_DOUBLE, 0, mpi.world()), "MPI_Gather");
  comm::mpi_check(MPI_Gather(&my_bytes, 1, MPI_UNSIGNED_LONG_LONG, rank_bytes.data(), 1, MPI_UNSIGNED_LONG_LONG, 0, mpi.world()),
                  "MPI_Gather");
  if (world.rank != 0) return 0;

  unsigned long long total = 0;
  double slowest = 0;
  for (int r = 0; r < world.size; ++r) {
    total += rank_bytes[r];
    slowest = std::max(slowest, rank_seconds[r]);
  }
  const uint64_t file_bytes = std::filesystem::file_size(model);
  const double gbs = slowest > 0 ? total / slowest / 1e9 : 0.0;
  const char* page_cache = !evict ? "as found" : evicted ? "evicted" : "eviction refused";
  std::cout << fmt::format("{}: {:.2f} GB file, {} rank(s) on the {}, moe {}, page cache {}, {}\n\n", model,
                           file_bytes / 1e9, world.size, device == Device::Cuda ? "GPUs" : "CPU", moe, page_cache, today());
  std::cout << "| rank | GB read | seconds | GB/s |\n|---|---|---|---|\n";
  for (int r = 0; r < world.size; ++r)
    std::cout << fmt::format("| {} | {:.3f} | {:.2f} | {:.2f} |\n", r, rank_bytes[r] / 1e9, rank_seconds[r],
                             rank_seconds[r] > 0 ? rank_bytes[r] / rank_seconds[r] / 1e9 : 0.0);
  std::cout << fmt::format("\nall ranks: {:.3f} GB read in {:.2f} s (the slowest rank; {:.2f} s until every rank had "
                           "finished): {:.2f} GB/s\n",
                           total / 1e9, slowest, all_done, gbs);
  if (!json_path.empty()) {
    nlohmann::json j{{"model", model},          {"file_bytes", file_bytes},  {"ranks", world.size},
                     {"device", device == Device::Cuda ? "cuda" : "cpu"},     {"moe", moe},
                     {"date", today()},         {"rank_bytes", rank_bytes},  {"rank_seconds", rank_seconds},
                     {"total_bytes", total},    {"seconds", slowest},        {"gb_per_s", gbs},
                     {"page_cache", page_cache}};
    std::ofstream out(json_path);
    TACHYON_REQUIRE(out.good(), "cannot write '{}'", json_path);
    out << j.dump(2) << "\n";
  }
  return 0;
}

}  // namespace tachyon::apps
