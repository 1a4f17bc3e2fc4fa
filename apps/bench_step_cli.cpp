#include "apps/bench_step_cli.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <utility>
#include <vector>

#include "apps/options.h"
#include "comm/mpi_session.h"
#include "model/error.h"
#include "runtime/bench_models.h"

#if TACHYON_HAVE_CUDA
#include "runtime/cuda/bench_step.h"
#endif

namespace tachyon::apps {

namespace {

std::vector<int> int_list(const std::string& text, const char* option) {
  std::vector<int> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t used = 0;
    int v = 0;
    try {
      v = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    TACHYON_REQUIRE(used == item.size() && v > 0, "--{}: '{}' is not a positive integer", option, item);
    out.push_back(v);
  }
  TACHYON_REQUIRE(!out.empty(), "--{}: give at least one value", option);
  return out;
}

// A kernel-mode switch's value (cuda::FewTokenDown, cuda::GateUpTokenTable: each {Never, Auto, Always}).
template <typename Mode>
Mode kernel_mode(const std::string& value, const char* option) {
  TACHYON_REQUIRE(value == "auto" || value == "always" || value == "never", "--{}: auto, always or never, not '{}'", option,
                  value);
  return value == "never" ? Mode::Never : value == "always" ? Mode::Always : Mode::Auto;
}

}  // namespace

int run_bench_step(int argc, char** argv) {
  po::options_description opts("options");
  std::string model, tokens, seqs, moe, json_path, timeline_path;
  int context = 0, slice_of = 0, reps = 0, draws = 0, timeline_steps = 0;
  uint32_t seed = 0;
  bool no_graphs = false, no_pdl = false, no_peer = false, no_fused_router = false, no_fused_combine = false,
       no_one_token = false, no_down_tail = false, profile = false;
  std::string few_token_down, token_table;
  bool no_linear_stream = false;
  bool batch_invariant = false;
  opts.add_options()
      ("model", po::value(&model)->default_value("qwen3-30b-a3b"),
       fmt::format("model shape: {}, or a target checkpoint (.h5) or config.json whose shape to bench",
                   fmt::join(bench_model_names(), ", ")).c_str())
      ("tokens", po::value(&tokens)->default_value("1,8,9"), "tokens per sequence per step, comma-separated")
      ("seqs", po::value(&seqs)->default_value("1,8"), "sequences per step, comma-separated")
      ("context", po::value(&context)->default_value(4096), "positions already in each sequence's KV cache")
      ("moe-parallel", po::value(&moe)->default_value("ep"), "expert parallelism: ep or tp")
      ("slice-of", po::value(&slice_of)->default_value(0),
       "each rank holds 1/N of the model (default: the model's deployment, 8 for mimo and qwen3-235b, or the ranks)")
      ("reps", po::value(&reps)->default_value(100), "timed steps per shape")
      ("draws", po::value(&draws)->default_value(1),
       "inputs (tokens, so expert choices) a shape's timed steps take in turn; the median and the experts touched are "
       "over all of them")
      ("seed", po::value(&seed)->default_value(1), "seed of the random weights, the prefill and the timed steps' tokens")
      ("no-graphs", po::bool_switch(&no_graphs), "launch kernels directly instead of replaying CUDA graphs")
      ("no-pdl", po::bool_switch(&no_pdl), "launch kernels without programmatic dependent launch (to measure what it gives)")
      ("no-peer-all-reduce", po::bool_switch(&no_peer), "several ranks: NCCL's all-reduce and add_rmsnorm instead of the fused peer all-reduce (to measure what it gives)")
      ("no-fused-norm-router", po::bool_switch(&no_fused_router),
       "one rank: add_rmsnorm then the router's linear before the experts, instead of one fused launch (to measure "
       "what it gives)")
      ("no-fused-combine", po::bool_switch(&no_fused_combine),
       "tp over several ranks: moe_combine, then the all-reduce + add + norm, instead of the combine inside the "
       "all-reduce's kernel (to measure what it gives)")
      ("no-down-tail", po::bool_switch(&no_down_tail),
       "one rank, steps of one token: the combine + add + norm after the experts as a launch of its own instead of in "
       "moe_down's last CTA (to measure what it gives)")
      ("no-one-token-moe", po::bool_switch(&no_one_token),
       "steps of one token: the block-column expert GEMMs instead of the kernels that bulk-copy each CTA's whole "
       "share of the weights (to measure what they give)")
      ("few-token-down", po::value(&few_token_down)->default_value("auto"),
       "steps of 2-16 tokens: where down takes the kernel that streams each CTA's share through a ring of bulk copies "
       "(auto: where measured faster, K >= 512; always; never: the persistent expert GEMM's)")
      ("gate-up-token-table", po::value(&token_table)->default_value("auto"),
       "steps of at most 16 tokens: where gate_up stages every token once before its wait instead of each pass its own "
       "(auto: where measured faster, K <= 2048; always; never)")
      ("no-linear-stream", po::bool_switch(&no_linear_stream),
       "one- and two-row linears take the K-split clusters instead of the persistent row stream (to measure what it "
       "gives)")
      ("batch-invariant", po::bool_switch(&batch_invariant),
       "every kernel takes one arithmetic whatever the step's shape (kernels/cuda/batch_invariant.h; `tachyon generate "
       "--batch-invariant`), to measure what it costs")
      ("profile", po::bool_switch(&profile),
       "after timing each shape, run one more step between cudaProfilerStart and Stop, for "
       "`ncu --profile-from-start off` (per-kernel times of one step)")
      ("timeline", po::value(&timeline_path),
       "trace every kernel's GPU start and end with CUPTI (on for the whole run) and print, per shape, what each "
       "kind of kernel adds to the step's critical path; write every shape's timeline as JSON to this file (rank 0)")
      ("timeline-steps", po::value(&timeline_steps)->default_value(20), "--timeline: traced steps per shape")
      ("json", po::value(&json_path), "also write the rows as JSON to this file (rank 0)");
  po::variables_map vm;
  if (!parse_options(argc, argv,
                     "usage: [mpirun -np N] tachyon bench step [--model M] [--tokens 1,8,9] [--seqs 1,8] [--context 4096] "
                     "[--moe-parallel ep|tp] [--slice-of N] [--timeline FILE] [--json FILE]",
                     opts, vm))
    return 0;
  std::vector<int> token_list = int_list(tokens, "tokens"), seq_list = int_list(seqs, "seqs");
#if TACHYON_HAVE_CUDA
  BenchStepOptions o;
  o.model = model;
  o.tokens_per_seq = std::move(token_list);
  o.seqs = std::move(seq_list);
  o.context = context;
  o.moe = moe;
  o.slice_of = slice_of;
  o.reps = reps;
  o.draws = draws;
  o.seed = seed;
  o.graphs = !no_graphs;
  o.pdl = !no_pdl;
  o.peer_all_reduce = !no_peer;
  o.fuse_norm_router = !no_fused_router;
  o.fuse_combine = !no_fused_combine;
  o.fuse_down_tail = !no_down_tail;
  o.one_token_moe = !no_one_token;
  o.few_token_down = kernel_mode<cuda::FewTokenDown>(few_token_down, "few-token-down");
  o.token_table = kernel_mode<cuda::GateUpTokenTable>(token_table, "gate-up-token-table");
  o.linear_stream = !no_linear_stream;
  o.batch_invariant = batch_invariant;
  o.profile = profile;
  TACHYON_REQUIRE(timeline_path.empty() || timeline_steps > 0, "--timeline-steps must be positive");
  o.timeline_steps = timeline_path.empty() ? 0 : timeline_steps;
  comm::MpiSession mpi(&argc, &argv);
  const BenchStepResult r = bench_step(o, mpi.world());
  int rank = 0;
  MPI_Comm_rank(mpi.world(), &rank);
  if (rank != 0) return 0;
  for (const std::string& n : r.notes) std::cout << n << "\n";
  std::cout << "\n" << r.report.markdown();
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    TACHYON_REQUIRE(out.good(), "cannot write '{}'", json_path);
    out << r.report.json() << "\n";
  }
  if (!timeline_path.empty()) {
    for (const ShapeTimeline& t : r.timelines)
      std::cout << "\n" << o.model << " " << t.shape << " (seqs x tokens), rank 0: " << timeline_markdown(t.summary);
    std::ofstream out(timeline_path);
    TACHYON_REQUIRE(out.good(), "cannot write '{}'", timeline_path);
    out << timelines_json(r.timelines, r.report.device, r.report.date, o.model) << "\n";
  }
  return 0;
#else
  throw Error("tachyon bench step needs the CUDA backend, which this build lacks (configure with -DTACHYON_CUDA=ON)");
#endif
}

}  // namespace tachyon::apps
