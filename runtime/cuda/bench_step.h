// `tachyon bench step`: the whole target step (CudaTargetStep, CUDA graphs) of a real-shaped model with
// random weights (MXFP4 experts, FP8 dense) on every GPU of the job, one rank per GPU, against the
// DESIGN.md section 6 roofline: bytes that must move (all dense weights, each touched expert once,
// the KV rows read) over the copy bandwidth measured in the same run, plus the step's collectives
// measured alone. Each rank holds 1/slice_of of the model, so 2 GPUs run exactly what 2 of a
// deployment's 8 would (DESIGN.md section 6).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/cuda/linear_stream.h"
#include "kernels/cuda/moe.h"
#include "runtime/bench_report.h"
#include "runtime/kernel_timeline.h"

namespace tachyon {

struct BenchStepOptions {
  std::string model = "qwen3-30b-a3b";  // runtime/bench_models.h
  std::vector<int> tokens_per_seq = {1, 8, 9};
  std::vector<int> seqs = {1, 8};
  int context = 4096;      // positions in every sequence's KV cache before the step (filled by prefill)
  std::string moe = "ep";  // ep or tp
  int slice_of = 0;        // 0: the model's deployment share, or the rank count when larger
  int reps = 100;          // timed steps per shape (after warm-up)
  // Inputs a shape is timed over, in turn (different tokens: different expert choices), so that the time and the
  // experts touched (their mean) stand for several routings rather than one. One H200 (docs/benchmarks.md, session 19),
  // four seeds: the MiMo slice's 1 x 1 and 2 x 1 steps moved by at most 0.7% with one input or eight, its 1 x 8 step by 8%
  // with its experts touched (696-1093).
  int draws = 1;
  bool graphs = true;
  bool pdl = true;         // programmatic dependent launch (kernels/cuda/launch.cuh)
  bool peer_all_reduce = true;  // several ranks: the fused peer all-reduce (kernels/cuda/peer_reduce.h)
  bool fuse_norm_router = true;  // CudaStepLimits::fuse_norm_router
  bool fuse_combine = true;      // CudaStepLimits::fuse_combine
  bool fuse_down_tail = true;    // CudaStepLimits::fuse_down_tail
  bool one_token_moe = true;     // cuda::set_moe_one_token_kernel
  cuda::FewTokenDown few_token_down = cuda::FewTokenDown::Auto;  // cuda::set_moe_few_token_down
  cuda::GateUpTokenTable token_table = cuda::GateUpTokenTable::Auto;  // cuda::set_moe_gate_up_token_table
  bool linear_stream = true;     // cuda::set_linear_stream
  bool batch_invariant = false;  // cuda::set_batch_invariant
  bool profile = false;    // one more step per shape inside cudaProfilerStart/Stop (for ncu)
  int timeline_steps = 0;  // > 0: trace this many more steps per shape with CUPTI (kernel_timeline.h);
                           // tracing is on for the whole run then, timed steps included
  uint32_t seed = 1;
};

struct BenchStepResult {
  BenchReport report;       // every row; the slowest rank's time against the busiest rank's roofline
  std::vector<std::string> notes;  // the model's shape, formats, ranks, and how it differs from the real one
  std::vector<ShapeTimeline> timelines;  // options.timeline_steps > 0; rank 0's GPU
};

// Collective over `mpi`: every rank runs its GPU's share (GPU = node-local rank modulo visible GPUs).
BenchStepResult bench_step(const BenchStepOptions& options, MPI_Comm mpi);

}  // namespace tachyon
