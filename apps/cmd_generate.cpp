// tachyon generate: batch generation over prompt files, on one rank or many (mpirun / srun).
//   mpirun -np N tachyon generate --model target.h5 --prompts in.jsonl --out out.jsonl
// Rank 0 checks every input file before any rank loads weights: a missing, unreadable or wrong file
// ends the job at once, naming the file and line.
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>

#include <fmt/ranges.h>

#include "apps/command.h"
#include "apps/options.h"
#include "comm/mpi_collectives.h"
#include "comm/mpi_session.h"
#include "comm/world.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "model/drafter_config.h"
#include "model/error.h"
#include "model/tokenizer/tokenizer.h"
#include "runtime/backend.h"
#include "runtime/generator.h"

namespace tachyon::apps {
namespace {

struct GenerateArgs {
  std::string model, moe_parallel, device, drafter;
  std::vector<std::string> prompts;
  std::string format, progress;
  int block_size = 0;
  GenerateOptions options;
  double step_timeout_s = 600;
  int64_t max_model_len = 0;
  bool no_cuda_graphs = false;
  bool batch_invariant = false;
};

void configure_logging(const comm::World& world) {
  spdlog::set_pattern(fmt::format("[%H:%M:%S.%e] [rank {}] [%^%l%$] %v", world.rank));
  spdlog::info("{}", world.describe());
  if (world.rank != 0) spdlog::set_level(spdlog::level::warn);
}

int generate(const GenerateArgs& args, comm::MpiSession& mpi) {
  comm::World world = comm::World::from_mpi(mpi.world());
  const Device device = resolve_device(args.device);
  if (device == Device::Cuda) world.device = world.local_rank % visible_gpus();
  configure_logging(world);
  comm::MpiCollectives comm(mpi.world());

  CheckpointReader reader(args.model);
  const ModelConfig config = target_model_config(reader);
  const MoeParallel moe = resolve_moe_parallel(args.moe_parallel);
  const ShardPlan plan = make_shard_plan(config, world.rank, world.size, moe);
  GenerateOptions options = args.options;
  options.max_model_len = static_cast<int>(args.max_model_len > 0 ? args.max_model_len
                                                                   : std::min<int64_t>(config.max_position_embeddings, 4096));
  TACHYON_REQUIRE(options.max_model_len <= config.max_position_embeddings,
                  "--max-model-len {} exceeds the model's max_position_embeddings {}", options.max_model_len,
                  config.max_position_embeddings);
  if (world.rank == 0) {
    // Before any weights move: a wrong input should cost seconds, not a model load.
    InputOptions input_options;
    input_options.format = parse_input_format(args.format);
    options.inputs = resolve_inputs(args.prompts, options.output_path, input_options);
    uint64_t total = 0;
    bool counted = true;
    for (const auto& f : options.inputs) {
      if (f.requests) total += *f.requests;
      else counted = false;
    }
    spdlog::info("{} input file{} ({}){}", options.inputs.size(), options.inputs.size() == 1 ? "" : "s",
                 input_format_name(options.inputs.front().format),
                 counted ? fmt::format(", {} requests", total) : std::string());
    if (options.model_name.empty()) options.model_name = std::filesystem::path(args.model).stem().string();
  }
  spdlog::info("model {}: {} layers, {} experts, {} ranks, moe plan {}", args.model, config.num_layers,
               config.num_experts, world.size, moe_parallel_name(moe));

  const auto load_start = std::chrono::steady_clock::now();
  size_t last_decile = 0;
  auto progress = [&](size_t done, size_t total, uint64_t bytes) {
    const size_t decile = total ? done * 10 / total : 10;
    if (decile != last_decile || done == total) {
      last_decile = decile;
      spdlog::info("loading weights: {}/{} tensors, {:.1f} MB read by this rank", done, total, bytes / 1e6);
    }
  };
  // Speculative decoding: every rank needs the drafter's tapped layers (its step outputs them); rank 0
  // alone holds and runs the drafter.
  std::optional<CheckpointReader> drafter_reader;
  DrafterConfig drafter_config;
  if (!args.drafter.empty()) {
    drafter_reader.emplace(args.drafter);
    TACHYON_REQUIRE(drafter_reader->kind() == "drafter", "--drafter {}: this is a {} checkpoint, not a drafter "
                    "(make one with `tachyon convert --drafter`)", args.drafter, drafter_reader->kind());
    drafter_config = parse_drafter_config(drafter_reader->config_json(), args.drafter + ": config.json");
    validate_drafter_for_target(drafter_config, args.drafter, config, args.model);
    options.block_size = args.block_size > 0 ? args.block_size : drafter_config.block_size;
    TACHYON_REQUIRE(options.block_size >= 2 && options.block_size <= 16, "--block-size {} must be in [2, 16]",
                    options.block_size);
  }
  StepConfig step_config;
  step_config.num_slots = options.max_batch;
  step_config.capacity = options.max_model_len;
  step_config.max_step_tokens = options.max_step_tokens;
  step_config.max_logit_rows = options.max_batch * std::max(1, options.block_size);
  step_config.tap_layers = drafter_config.target_layer_ids;
  step_config.cuda_graphs = !args.no_cuda_graphs;
  step_config.batch_invariant = args.batch_invariant;
  std::unique_ptr<TargetRuntime> runtime =
      make_target_runtime(device, reader, config, plan, comm, mpi.world(), world, step_config, progress);
  spdlog::info("weights loaded in {:.2f} s; {}",
               std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count(), runtime->describe());

  // Rank 0 tokenizes and detokenizes; the others never see text.
  std::optional<Tokenizer> tokenizer;
  if (world.rank == 0 && reader.tokenizer_json()) tokenizer = Tokenizer::from_json(*reader.tokenizer_json());
  if (world.rank == 0 && !tokenizer) spdlog::info("this checkpoint has no tokenizer: prompts must be given as input_ids");

  std::unique_ptr<Drafter> drafter;
  if (world.rank == 0 && drafter_reader) {
    // On the target's device; its cache holds the context plus one block of scratch past it.
    drafter = make_drafter(device, *drafter_reader, reader, *runtime, options.max_batch, options.max_model_len + options.block_size,
                           !args.no_cuda_graphs);
    spdlog::info("drafter {} on the {}: {} layers, block {}, taps target layers [{}]", args.drafter,
                 device == Device::Cuda ? "GPU" : "CPU", drafter_config.num_layers(), options.block_size,
                 fmt::join(drafter_config.target_layer_ids, ", "));
  }

  StepWatchdog watchdog(args.step_timeout_s);
  const GenerationSummary s = run_generation(options, config, runtime->step(), comm, watchdog,
                                             tokenizer ? &*tokenizer : nullptr, drafter.get());
  if (world.rank == 0) {
    spdlog::info("done: {} requests ({} errors{}), {} prompt + {} generated tokens in {:.2f} s ({:.1f} tokens/s), {} steps",
                 s.requests, s.errors, s.resumed ? fmt::format(", {} already done before --resume", s.resumed) : "",
                 s.prompt_tokens, s.completion_tokens, s.seconds, s.seconds > 0 ? s.completion_tokens / s.seconds : 0.0,
                 s.steps);
    const size_t ran = s.requests - s.resumed;
    spdlog::info("summary: {:.2f} requests/s, {:.1f} output tokens/s, {:.1f} total tokens/s; TTFT p50 {:.1f} ms, p99 "
                 "{:.1f} ms; TPOT p50 {:.2f} ms, p99 {:.2f} ms; acceptance length {:.2f}; peak RSS {:.0f} MiB (rank 0)",
                 s.seconds > 0 ? ran / s.seconds : 0.0, s.seconds > 0 ? s.completion_tokens / s.seconds : 0.0,
                 s.seconds > 0 ? (s.completion_tokens + s.prompt_tokens) / s.seconds : 0.0, s.ttft_ms_p50, s.ttft_ms_p99,
                 s.tpot_ms_p50, s.tpot_ms_p99, s.acceptance_length(), s.peak_rss_mib);
    if (drafter)
      spdlog::info("speculative: acceptance length {:.2f} (tokens per target pass, bonus included), {} of {} drafts "
                   "accepted; draft {:.2f} s, verify {:.2f} s", s.acceptance_length(), s.accepted, s.drafted,
                   s.draft_seconds, s.verify_seconds);
  }
  return 0;
}

int run_generate(int argc, char** argv) {
  GenerateArgs args;
  GenerateOptions& o = args.options;
  po::options_description opts("options");
  opts.add_options()
      ("model", po::value(&args.model)->required(), "target checkpoint (.h5, from `tachyon convert`)")
      ("prompts", po::value(&args.prompts)->required()->composing(),
       "prompt file or directory of them; may repeat (several inputs: --out is a directory, OUT/<name>.jsonl each)")
      ("out", po::value(&o.output_path)->default_value("-"), "output JSONL, one result per request in input order ('-': stdout), or a directory")
      ("format", po::value(&args.format)->default_value("auto"), "input format: tachyon, openai (vllm run-batch), text (one prompt a line) or auto")
      ("resume", po::bool_switch(&o.resume), "carry on from the output file(s) of an interrupted run: skip answered requests, cut a torn last line")
      ("reproducible", po::bool_switch(&o.reproducible), "no wall-clock figures in output lines: the output is a pure function of input, model and seeds")
      ("served-model-name", po::value(&o.model_name)->default_value(""), "\"model\" of OpenAI responses when a request names none (default: the checkpoint's name)")
      ("metrics-json", po::value(&o.metrics_json)->default_value(""), "write aggregate and per-request metrics (TTFT, TPOT, tokens/s, acceptance, queue) here at the end")
      ("prometheus-file", po::value(&o.prometheus_file)->default_value(""), "Prometheus text file of counters and histograms, rewritten periodically (textfile collector)")
      ("prometheus-interval", po::value(&o.prometheus_interval_s)->default_value(5.0), "seconds between rewrites of --prometheus-file")
      ("progress", po::value(&args.progress)->default_value("auto"), "auto (a bar on a terminal, else log lines), bar, log or off")
      ("log-interval", po::value(&o.log_interval_s)->default_value(10.0), "seconds between progress log lines")
      ("sync-interval", po::value(&o.sync_interval_s)->default_value(2.0), "seconds between fsyncs of the output while results come")
      ("max-pending", po::value(&o.max_pending)->default_value(65536), "finished results held back waiting for an earlier one before reading pauses")
      ("max-batch", po::value(&o.max_batch)->default_value(8), "sequences generated concurrently")
      ("max-model-len", po::value(&args.max_model_len)->default_value(0), "positions per sequence (prompt + output); 0: min(model, 4096)")
      ("max-step-tokens", po::value(&o.max_step_tokens)->default_value(2048), "tokens per step (long prompts are prefilled in chunks)")
      ("max-tokens", po::value(&o.defaults.max_tokens)->default_value(256), "default max_tokens of a request")
      ("seed", po::value(&o.defaults.seed)->default_value(0), "run seed: requests without a seed derive theirs from it")
      ("moe-parallel", po::value(&args.moe_parallel)->default_value("auto"), "MoE plan across ranks: ep, tp or auto")
      ("drafter", po::value(&args.drafter), "DFlash drafter checkpoint (.h5, from `tachyon convert --drafter`): speculative decoding")
      ("block-size", po::value(&args.block_size)->default_value(0), "speculative block, anchor included (2-16; 0: the drafter's)")
      ("device", po::value(&args.device)->default_value("auto"), "cpu, cuda or auto (cuda when a GPU is visible)")
      ("no-cuda-graphs", po::bool_switch(&args.no_cuda_graphs), "launch every kernel of a step instead of replaying a CUDA graph")
      ("batch-invariant", po::bool_switch(&args.batch_invariant),
       "GPU kernels take one arithmetic whatever the batch: on one GPU, the same greedy tokens at any --max-batch, with or "
       "without --drafter (slower; see docs/benchmarks.md)")
      ("step-timeout", po::value(&args.step_timeout_s)->default_value(600), "seconds one step may take before the job is ended (0: off)");
  po::variables_map vm;
  if (!parse_options(argc, argv,
                     "usage: [mpirun -np N] tachyon generate --model M.h5 --prompts in.jsonl --out out.jsonl [options]",
                     opts, vm))
    return 0;
  TACHYON_REQUIRE(o.max_batch >= 1, "--max-batch must be at least 1");
  TACHYON_REQUIRE(o.max_step_tokens >= 1, "--max-step-tokens must be at least 1");
  TACHYON_REQUIRE(o.defaults.max_tokens >= 1, "--max-tokens must be at least 1");
  TACHYON_REQUIRE(o.max_pending >= 1, "--max-pending must be at least 1");
  TACHYON_REQUIRE(o.sync_interval_s >= 0 && o.log_interval_s > 0 && o.prometheus_interval_s > 0,
                  "--sync-interval, --log-interval and --prometheus-interval must be positive");
  o.progress = parse_progress_mode(args.progress);
  parse_input_format(args.format);  // a bad --format is an error before MPI starts

  comm::MpiSession mpi(&argc, &argv);
  try {
    return generate(args, mpi);
  } catch (const std::exception& e) {
    // Whatever rank 0 finished is already written (the writer flushed as it unwound); end every rank.
    comm::abort_job(1, e.what());
  }
}

}  // namespace
TACHYON_COMMAND("generate", "generate text for a file of prompts, on one or many ranks", run_generate);
}  // namespace tachyon::apps
