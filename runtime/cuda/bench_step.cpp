#include "runtime/cuda/bench_step.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cuda_profiler_api.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <random>

#include "comm/cuda/nccl_collectives.h"
#include "comm/cuda/peer_buffers.h"
#include "comm/mpi_session.h"
#include "comm/world.h"
#include "kernels/cuda/batch_invariant.h"
#include "kernels/cuda/bench.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/moe.h"
#include "kernels/cuda/peer_reduce.h"
#include "model/error.h"
#include "model/median.h"
#include "runtime/bench_models.h"
#include "runtime/cuda/cuda_target_step.h"
#include "runtime/cuda/kernel_trace.h"
#include "runtime/cuda/random_device_weights.h"
#include "runtime/step_roofline.h"
#include "runtime/weight_specs.h"

namespace tachyon {

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kMaxBlock = 16;  // queries per sequence per step (kernels/cuda/attention.h)

// The ids every step's tokens are drawn from: the vocabulary rows of the plan's rank 0. A run of fewer ranks
// than the slice plans (one GPU of an 8-GPU deployment) has no rank to embed the other rows: their tokens
// would embed as zeros, every such token carrying the same residual stream, and a verify block's tokens
// would all route alike (session 46: the MiMo slice's 1 x 9 touched 827 experts where uniform routing
// touches 4574, 19%). On as many ranks as the plan, rank 0 embeds them and the all-reduce gives them to all.
std::uniform_int_distribution<int32_t> token_ids(const ModelConfig& c, int slice_of, MoeParallel moe) {
  const Range v = make_shard_plan(c, 0, slice_of, moe).vocab;
  return std::uniform_int_distribution<int32_t>(static_cast<int32_t>(v.begin), static_cast<int32_t>(v.end - 1));
}

// `seqs` sequences in slots 0.. of `tokens` tokens each after `context` cached positions, logits wanted
// for every token (a verify block; one token is a decode step).
StepBatch step_batch(int seqs, int tokens, int context, std::uniform_int_distribution<int32_t> id, std::mt19937& rng) {
  StepBatch b;
  for (int s = 0; s < seqs; ++s) {
    b.seqs.push_back({s, context, tokens, 0});
    for (int t = 0; t < tokens; ++t) b.tokens.push_back(id(rng));
  }
  return b;
}

// Fills slots [0, slots) to `context` positions with steps of the model itself, every slot advancing by
// `chunk` tokens per step (the attention kernel takes at most 16 queries per sequence), so that the timed
// steps' attention reads `context` real (finite) keys and values.
void prefill(CudaTargetStep& step, int slots, int context, int chunk, std::uniform_int_distribution<int32_t> id,
             std::mt19937& rng) {
  StepOutput out;
  out.want_host_logits = false;
  for (int start = 0; start < context; start += chunk) {
    const int n = std::min(chunk, context - start);
    StepBatch b;
    for (int s = 0; s < slots; ++s) {
      b.seqs.push_back({s, start, n, n - 1});
      for (int t = 0; t < n; ++t) b.tokens.push_back(id(rng));
    }
    step.run(b, out);
  }
}

// The step's collectives alone: `count` all-reduces of `elements` FP32 values, captured in a CUDA graph
// as the step enqueues them; median microseconds per replay. Collective: every rank calls it.
double step_collectives_us(comm::NcclComm& nccl, int count, size_t elements) {
  cuda::Stream stream;
  cuda::DeviceBuffer<float> buf(elements);
  CUDA_CHECK(cudaMemsetAsync(buf.get(), 0, buf.bytes(), stream.get()));
  comm::NcclCollectives coll(nccl, stream.get());
  return count * cuda::graph_time_us(stream.get(), count, [&](cudaStream_t) {
           for (int i = 0; i < count; ++i) coll.all_reduce(buf.get(), elements, comm::DType::F32, comm::ReduceOp::Sum);
         });
}

// The same all-reduces through the fused peer kernel (kernels/cuda/peer_reduce.h), each with its residual
// add and norm, as the step runs them: median microseconds per replay of `count` launches over `rows` rows.
// Collective: every rank calls it.
double step_peer_reduces_us(const comm::PeerBuffers& peers, int count, int rows, int dim) {
  cuda::Stream stream;
  const size_t n = static_cast<size_t>(rows) * dim;
  cuda::DeviceBuffer<float> partial(n), x(n), w(dim), y(n);
  for (auto* b : {&partial, &x, &w, &y}) CUDA_CHECK(cudaMemsetAsync(b->get(), 0, b->bytes(), stream.get()));
  return count * cuda::graph_time_us(stream.get(), count, [&](cudaStream_t s) {
           for (int i = 0; i < count; ++i)
             cuda::peer_all_reduce_add_rmsnorm(peers.view(), partial.get(), x.get(), w.get(), rows, dim, 1e-6f, y.get(), s);
         });
}

// Median host-observed time of run(): metadata upload, graph replay (captured by the second warm-up),
// argmax back to the host; the steps take the batches in turn.
double median_step_us(CudaTargetStep& step, const std::vector<StepBatch>& batches, int reps, MPI_Comm mpi) {
  StepOutput out;
  out.want_host_logits = false;
  for (int i = 0; i < 5; ++i) step.run(batches[i % batches.size()], out);
  MPI_Barrier(mpi);
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) {
    const StepBatch& batch = batches[i % batches.size()];
    const auto a = Clock::now();
    step.run(batch, out);
    times.push_back(std::chrono::duration<double, std::micro>(Clock::now() - a).count());
  }
  return median(std::move(times));
}

// `steps` more steps with every kernel's GPU start and end recorded (the step is synchronous: its
// argmax comes back to the host, so the host's timestamps around run() bound each step's kernels).
TimelineSummary trace_steps(cuda::KernelTrace& trace, CudaTargetStep& step, const StepBatch& batch, int steps, MPI_Comm mpi) {
  StepOutput out;
  out.want_host_logits = false;
  MPI_Barrier(mpi);
  CUDA_CHECK(cudaDeviceSynchronize());
  trace.take();  // what ran before
  std::vector<StepWindow> windows;
  for (int i = 0; i < steps; ++i) {
    StepWindow w;
    w.begin_ns = cuda::KernelTrace::now_ns();
    step.run(batch, out);
    w.end_ns = cuda::KernelTrace::now_ns();
    windows.push_back(w);
  }
  CUDA_CHECK(cudaDeviceSynchronize());
  return summarize_timeline(trace.take(), windows);
}

}  // namespace

BenchStepResult bench_step(const BenchStepOptions& o, MPI_Comm mpi) {
  comm::World world = comm::World::from_mpi(mpi);
  int gpus = 0;
  TACHYON_REQUIRE(cudaGetDeviceCount(&gpus) == cudaSuccess && gpus > 0, "tachyon bench step needs a GPU");
  world.device = world.local_rank % gpus;
  CUDA_CHECK(cudaSetDevice(world.device));
  cuda::set_programmatic_launch(o.pdl);
  cuda::set_moe_one_token_kernel(o.one_token_moe);
  cuda::set_moe_few_token_down(o.few_token_down);
  cuda::set_moe_gate_up_token_table(o.token_table);
  cuda::set_linear_stream(o.linear_stream);
  cuda::set_batch_invariant(o.batch_invariant);
  comm::set_peer_all_reduce_enabled(o.peer_all_reduce);
  TACHYON_REQUIRE(!o.seqs.empty() && !o.tokens_per_seq.empty() && o.reps > 0 && o.context >= 0 && o.draws > 0,
                  "bench step: --seqs and --tokens need at least one value, --reps > 0, --draws > 0, --context >= 0");

  const BenchModel model = bench_model(o.model);
  const ModelConfig& c = model.config;
  const int slice_of = o.slice_of > 0 ? o.slice_of : std::max(model.slice_of, world.size);
  TACHYON_REQUIRE(slice_of >= world.size, "--slice-of {} is smaller than the {} ranks", slice_of, world.size);
  const MoeParallel moe = parse_moe_parallel(o.moe);
  const ShardPlan plan = make_shard_plan(c, world.rank, slice_of, moe);
  const std::uniform_int_distribution<int32_t> ids = token_ids(c, slice_of, moe);
  const TargetWeightSpecs specs = target_weight_specs(c, plan, WeightFormat::FP8, WeightFormat::MXFP4);

  BenchStepResult result;
  BenchReport& report = result.report;
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, world.device));
  report.device = prop.name;
  report.date = today();
  {
    cuda::Stream s;  // before the weights: it needs 2 GiB of its own
    report.copy_gbs = cuda::copy_bandwidth_gbs(s.get());
  }

  // Before any graph is captured, so that the replays' kernels are traced.
  std::optional<cuda::KernelTrace> trace;
  if (o.timeline_steps > 0) trace.emplace();

  comm::NcclComm nccl(mpi, world.device);
  const int max_seqs = *std::max_element(o.seqs.begin(), o.seqs.end());
  const int max_tokens = *std::max_element(o.tokens_per_seq.begin(), o.tokens_per_seq.end());
  TACHYON_REQUIRE(max_tokens <= kMaxBlock, "--tokens: at most {} per sequence (the attention kernel's block)", kMaxBlock);
  const int chunk = kMaxBlock;
  const CudaStepLimits limits{max_seqs, o.context + max_tokens, max_seqs * chunk, max_seqs * max_tokens, o.graphs,
                              o.fuse_norm_router, o.fuse_combine, o.fuse_down_tail};
  const auto t0 = Clock::now();
  CudaTargetStep step(c, plan, random_device_weights(specs, o.seed + 1000u * world.rank), nccl, limits);
  const double made_s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::mt19937 rng(o.seed);
  prefill(step, max_seqs, o.context, chunk, ids, rng);
  const double prefill_s = std::chrono::duration<double>(Clock::now() - t0).count() - made_s;

  int moe_layers = 0;
  for (const LayerConfig& l : c.layers) moe_layers += l.moe;
  result.notes.push_back(fmt::format(
      "{}: {} layers ({} MoE), hidden {}, {} experts top-{} (intermediate {}), {} q / {} kv heads of {}/{}, vocab {}; "
      "experts mxfp4, dense fp8 (embedding, router bf16); random weights made on the GPU",
      model.name, c.num_layers, moe_layers, c.hidden_size, c.num_experts, c.top_k, c.moe_intermediate_size,
      c.num_q_heads(), c.max_kv_heads(), c.head_dim, c.v_head_dim, c.vocab_size));
  if (!model.note.empty()) result.notes.push_back(model.note);
  if (slice_of > 1)
    result.notes.push_back(fmt::format("token ids drawn from rank 0's vocabulary rows [{}, {}) of the 1/{} plan, which "
                                       "rank 0 embeds (before session 46 from the whole vocabulary: on fewer ranks than "
                                       "the plan most embedded as zeros and routed alike)",
                                       ids.a(), ids.b() + 1, slice_of));
  result.notes.push_back(fmt::format(
      "{} rank(s), each holding 1/{} of the model (moe {}: {} experts x {} of the intermediate, {} q heads, {} kv "
      "heads): rank 0 {:.2f} GB of weights, {:.2f} GB of KV cache, made in {:.1f} s; {} slot(s) prefilled to {} "
      "positions in {:.1f} s; CUDA graphs {}, programmatic dependent launch {}; {} timed steps per shape over {} input(s), "
      "host-observed{}",
      world.size, slice_of, o.moe, plan.experts.size(), plan.expert_intermediate.size(), plan.attention[0].q_heads.size(),
      plan.attention[0].kv_heads.size(), step.weight_bytes() / 1e9, step.kv_cache_bytes() / 1e9, made_s, max_seqs,
      o.context, prefill_s, o.graphs ? "on" : "off", o.pdl ? "on" : "off", o.reps, o.draws,
      trace ? "; CUPTI kernel tracing on for the whole run (--timeline)" : ""));
  if (!o.fuse_norm_router)
    result.notes.push_back("--no-fused-norm-router: add_rmsnorm, then the router's linear (two launches a MoE layer)");
  if (!o.one_token_moe)
    result.notes.push_back("--no-one-token-moe: steps of one token take the block-column expert GEMMs");
  if (o.few_token_down != cuda::FewTokenDown::Auto)
    result.notes.push_back(o.few_token_down == cuda::FewTokenDown::Never
                               ? "--few-token-down never: steps of 2-16 tokens take the persistent down projection"
                               : "--few-token-down always: steps of 2-16 tokens take the several-token down kernel at every K");
  if (o.token_table != cuda::GateUpTokenTable::Auto)
    result.notes.push_back(o.token_table == cuda::GateUpTokenTable::Never
                               ? "--gate-up-token-table never: gate_up's passes stage their own tokens"
                               : "--gate-up-token-table always: gate_up stages its token table at every K");
  if (!o.linear_stream)
    result.notes.push_back("--no-linear-stream: one- and two-row linears take the K-split clusters");
  if (o.batch_invariant)
    result.notes.push_back("--batch-invariant: every kernel takes one arithmetic whatever the step's shape");
  if (!o.fuse_down_tail)
    result.notes.push_back("--no-down-tail: one rank, steps of one token: the combine + add + norm as a launch of its own");
  if (!o.fuse_combine)
    result.notes.push_back("--no-fused-combine: moe_combine, then the all-reduce + add + norm (tp over several ranks)");
  if (world.size > 1)
    result.notes.push_back(step.peer_all_reduce() ? "all-reduces of the layers: the fused peer all-reduce (with add_rmsnorm)"
                                                  : "all-reduces of the layers: NCCL (then add_rmsnorm)");

  for (int seqs : o.seqs)
    for (int tokens : o.tokens_per_seq) {
      const StepShape shape{seqs, tokens, o.context};
      std::vector<StepBatch> batches;
      for (int d = 0; d < o.draws; ++d) batches.push_back(step_batch(seqs, tokens, o.context, ids, rng));
      const StepBatch& batch = batches[0];  // the profile's and the timeline's
      std::vector<double> touched;
      for (const StepBatch& b : batches) {
        const std::vector<int> counted = step.count_active_experts(b);
        touched.resize(counted.size(), 0.0);
        for (size_t l = 0; l < counted.size(); ++l) touched[l] += static_cast<double>(counted[l]) / o.draws;
      }
      double expected = 0;
      for (int l = 0; l < c.num_layers; ++l)
        if (c.layers[l].moe)
          expected += expected_distinct_experts(static_cast<int>(plan.experts.size()), c.num_experts, c.top_k, shape.tokens());
      const StepBytes bytes = step_bytes(c, plan, specs, shape, touched);
      // The collectives of this shape: the embedding's all-reduce and two per layer (attention, MLP). Measured
      // with one rank too, where they are pure overhead (the roofline then has no communication floor).
      const double comm_us = step_collectives_us(nccl, 1 + 2 * c.num_layers, static_cast<size_t>(shape.tokens()) * c.hidden_size);
      // The same through the fused peer kernel, where the step uses it (on the step's own buffers).
      const comm::PeerBuffers* peers = step.peer_buffers();
      const double peer_us = peers && cuda::peer_reduce_fits(peers->view(), shape.tokens(), c.hidden_size)
                                 ? step_peer_reduces_us(*peers, 1 + 2 * c.num_layers, shape.tokens(), c.hidden_size)
                                 : 0.0;

      double touched_sum = 0;
      for (double t : touched) touched_sum += t;
      // The slowest rank's time, against the roofline of the rank with the most bytes to move.
      double mine = median_step_us(step, batches, o.reps, mpi), slowest = 0;
      comm::mpi_check(MPI_Allreduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, mpi), "MPI_Allreduce");
      struct { double bytes; int rank; } me{bytes.total(), world.rank}, busiest;
      comm::mpi_check(MPI_Allreduce(&me, &busiest, 1, MPI_DOUBLE_INT, MPI_MAXLOC, mpi), "MPI_Allreduce");
      double fig[5] = {touched_sum, expected, bytes.dense, bytes.experts, bytes.kv};
      comm::mpi_check(MPI_Bcast(fig, 5, MPI_DOUBLE, busiest.rank, mpi), "MPI_Bcast");
      const StepBenchRow row{.model = model.name, .ranks = world.size, .slice_of = slice_of, .moe = o.moe,
                             .seqs = seqs, .tokens_per_seq = tokens, .context = o.context, .graphs = o.graphs,
                             .experts_touched = fig[0], .experts_expected = fig[1], .dense_bytes = fig[2],
                             .expert_bytes = fig[3], .kv_bytes = fig[4], .comm_us = comm_us, .peer_us = peer_us,
                             .median_us = slowest};
      report.steps.push_back(row);
      if (o.profile) {
        StepOutput out;
        out.want_host_logits = false;
        CUDA_CHECK(cudaProfilerStart());
        step.run(batch, out);
        CUDA_CHECK(cudaProfilerStop());
      }
      if (trace)
        result.timelines.push_back({fmt::format("{} x {}", seqs, tokens), trace_steps(*trace, step, batch, o.timeline_steps, mpi)});
      if (world.rank == 0)
        spdlog::info("bench step {}: {} x {} tokens: {:.1f} us, roofline {:.1f} us", model.name, seqs, tokens, row.median_us,
                     row.roofline_us(report.copy_gbs));
    }
  return result;
}

}  // namespace tachyon
