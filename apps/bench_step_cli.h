// `tachyon bench step ...` (the command line; the work is runtime/cuda/bench_step.h). Called by
// apps/cmd_bench.cpp with argv[0] = "step".
#pragma once

namespace tachyon::apps {

int run_bench_step(int argc, char** argv);

}  // namespace tachyon::apps
