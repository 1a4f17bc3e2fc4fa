// `tachyon bench load ...`: how fast the ranks read their shards of a checkpoint at once (issue 9's load
// of a ~100 GB checkpoint by 8 ranks). Called by apps/cmd_bench.cpp with argv[0] = "load".
#pragma once

namespace tachyon::apps {

int run_bench_load(int argc, char** argv);

}  // namespace tachyon::apps
