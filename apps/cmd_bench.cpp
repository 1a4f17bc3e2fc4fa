// tachyon bench: performance against the roofline, on the GPU this process sees.
//   tachyon bench kernels [--only linear,moe,attention,launch] [--no-pdl] [--json results/kernels.json]
//   tachyon bench drafter [--json results/drafter.json]    (runtime/cuda/bench_drafter.h)
//   [mpirun -np N] tachyon bench step [--model M] [--tokens 1,8,9] ... (apps/bench_step_cli.cpp)
//   [mpirun -np N] tachyon bench load --model M.h5 [--device cuda|cpu] ...  (apps/bench_load_cli.cpp)
// Every kernel at the decode shapes of MiMo-V2.5-Pro, Qwen3-235B-A22B and gpt-oss-120b: the bytes it must
// move over its median time, as a fraction of the device's copy bandwidth measured in the same run.
#include <cstdio>
#include <fstream>
#include <iostream>

#include "apps/bench_load_cli.h"
#include "apps/bench_step_cli.h"
#include "apps/command.h"
#include "apps/options.h"
#include "model/error.h"
#include "runtime/bench_report.h"

#if TACHYON_HAVE_CUDA
#include <cuda_runtime.h>

#include "kernels/cuda/bench.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/launch.h"
#include "runtime/cuda/bench_drafter.h"
#endif

namespace tachyon::apps {
namespace {

int run_bench(int argc, char** argv) {
  // The subcommands parse their own options; their name (argv[0] to them) is what their errors point to.
  static char step_name[] = "bench step", load_name[] = "bench load";
  if (argc >= 2 && std::string(argv[1]) == "step") return argv[1] = step_name, run_bench_step(argc - 1, argv + 1);
  if (argc >= 2 && std::string(argv[1]) == "load") return argv[1] = load_name, run_bench_load(argc - 1, argv + 1);
  po::options_description opts("options");
  std::string what, only, json_path;
  bool no_pdl = false;
  opts.add_options()
      ("what", po::value(&what)->required(), "what to measure: kernels, drafter, or step (`tachyon bench step --help`)")
      ("only", po::value(&only)->default_value("linear,moe,attention,launch"), "kernel families, comma-separated: linear, moe, attention, launch, chain (the engine GEMV chain)")
      ("no-pdl", po::bool_switch(&no_pdl), "launch kernels without programmatic dependent launch (to measure what it gives)")
      ("json", po::value(&json_path), "also write the rows as JSON to this file");
  po::positional_options_description pos;
  pos.add("what", 1);
  po::variables_map vm;
  if (!parse_options(argc, argv, "usage: tachyon bench kernels|drafter [--only linear,moe,attention,launch] [--no-pdl] [--json FILE]\n       tachyon bench step --help\n"
                   "       tachyon bench load --help", opts, vm, &pos))
    return 0;
  TACHYON_REQUIRE(what == "kernels" || what == "drafter", "tachyon bench: '{}' is not something it measures (kernels, "
                  "drafter, step, load)", what);
#if TACHYON_HAVE_CUDA
  int devices = 0;
  TACHYON_REQUIRE(cudaGetDeviceCount(&devices) == cudaSuccess && devices > 0, "tachyon bench {} needs a GPU", what);
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  cuda::set_programmatic_launch(!no_pdl);
  cuda::Stream stream;
  BenchReport report;
  report.device = prop.name;
  report.date = today();
  report.copy_gbs = cuda::copy_bandwidth_gbs(stream.get());
  auto add = [&](const std::vector<cuda::KernelTiming>& rows) {
    for (const auto& r : rows) report.rows.push_back({r.kernel, r.model, r.shape, r.bytes, r.median_us});
  };
  if (what == "drafter") {
    add(bench_drafter());
  } else {
    if (only.find("linear") != std::string::npos) add(cuda::bench_linear_kernels(stream.get()));
    if (only.find("moe") != std::string::npos) add(cuda::bench_moe_kernels(stream.get()));
    if (only.find("attention") != std::string::npos) add(cuda::bench_attention_kernels(stream.get()));
    if (only.find("launch") != std::string::npos) add(cuda::bench_launch_floor(stream.get()));
    if (only.find("chain") != std::string::npos) add(cuda::bench_gemv_chain(stream.get()));
  }
  std::cout << report.markdown();
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    TACHYON_REQUIRE(out.good(), "cannot write '{}'", json_path);
    out << report.json() << "\n";
  }
  return 0;
#else
  throw Error("tachyon bench needs the CUDA backend, which this build lacks (configure with -DTACHYON_CUDA=ON)");
#endif
}

}  // namespace
TACHYON_COMMAND("bench", "measure kernels against the roofline on this GPU", run_bench);
}  // namespace tachyon::apps
