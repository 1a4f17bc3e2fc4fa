// The generation loop of `tachyon generate`, run by every rank.
//
// Rank 0 owns the request queue: it reads the prompt files line by line (never a whole file at once;
// formats in runtime/input_formats.h), admits requests into free KV slots (continuous batching: a
// finished sequence's slot is refilled at once; a request with n samples takes n slots), builds each
// step's plan (prefill chunks and decode tokens of every active sequence), broadcasts it, runs its
// shard, chooses tokens, and writes results in input order as they finish, one output file per input
// file. It also keeps the run's metrics and progress (runtime/metrics_export.h, runtime/progress.h)
// and, with --resume, carries on from what an interrupted run wrote (runtime/resume.h).
// The other ranks receive plans, run their shards and take part in choosing tokens, until rank 0
// sends the stop plan.
//
// Memory on rank 0 is bounded whatever the input's size: requests are read only when a slot is free,
// and results that finish before an earlier one wait in memory only up to `max_pending` of them (then
// no new request is admitted until the earliest finishes); per-request metrics are streamed to disk.
//
// With a drafter (DFlash), a decoding sequence's step is a block [last token, d1 .. d(B-1)]: the
// drafter proposes d1.. from the target's hidden states, the target verifies the whole block in one
// pass, and the sequence keeps the target's own choices c0 .. c(acc) where acc is the number of leading
// drafts equal to them. The target's choice at block row i uses the same randomness as the request's
// plain decoding would for that output position (runtime/rng.h), so a draft x is kept exactly when the
// target's sample is x (probability p(x)), and otherwise the emitted token is a sample from p without
// x, renormalised: the rejection rule for a deterministic draft, lossless at any temperature. With
// greedy decoding the output is token for token that of plain decoding.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "comm/collectives.h"
#include "model/config.h"
#include "runtime/input_formats.h"
#include "runtime/progress.h"
#include "runtime/request.h"
#include "runtime/step.h"
#include "runtime/watchdog.h"

namespace tachyon {

class Tokenizer;
class Drafter;

struct GenerateOptions {
  // The inputs and where their results go (resolve_inputs). When empty, `prompts_path` -> `output_path`
  // in `format` (resolved by run_generation).
  std::vector<InputFile> inputs;
  std::string prompts_path;
  std::string output_path;
  InputFormat format = InputFormat::Auto;
  int max_batch = 8;          // concurrent sequences (KV slots)
  int max_model_len = 4096;   // positions per sequence: prompt + generated
  int max_step_tokens = 2048; // tokens per step, prefill chunks included
  int block_size = 0;         // speculative block (anchor + drafts), 0: no drafter
  RequestDefaults defaults;
  bool resume = false;        // carry on from the output files (runtime/resume.h)
  // Output lines as a pure function of input, model and seeds: no wall-clock figures in Tachyon lines,
  // OpenAI "created" = the input file's modification time. A resumed run then equals an uninterrupted
  // one byte for byte.
  bool reproducible = false;
  std::string model_name = "tachyon";  // OpenAI bodies' "model" when a request names none
  size_t max_pending = 65536;  // finished results waiting for an earlier one before admission pauses
  double sync_interval_s = 2.0;  // fsync the outputs at least this often while results come
  ProgressMode progress = ProgressMode::Off;
  double log_interval_s = 10.0;
  std::string metrics_json, prometheus_file;
  double prometheus_interval_s = 5.0;
};

struct GenerationSummary {
  size_t requests = 0;   // lines read
  size_t errors = 0;     // lines answered with an error
  size_t resumed = 0;    // lines already answered in the output (--resume)
  size_t files = 0;
  uint64_t prompt_tokens = 0, completion_tokens = 0;
  uint64_t steps = 0;
  double seconds = 0.0;
  uint64_t target_passes = 0;     // steps' worth of passes that produced tokens, summed over sequences
  uint64_t drafted = 0, accepted = 0;  // draft tokens proposed and accepted
  double draft_seconds = 0.0, verify_seconds = 0.0;
  double ttft_ms_p50 = 0, ttft_ms_p99 = 0, tpot_ms_p50 = 0, tpot_ms_p99 = 0;  // per request, this run
  double peak_rss_mib = 0.0;
  double acceptance_length() const { return target_passes ? double(completion_tokens) / target_passes : 0.0; }
};

// `drafter` (rank 0 only, or null): speculative decoding with DFlash; the step must then have been
// built with tap_layers = the drafter's target_layer_ids.
GenerationSummary run_generation(const GenerateOptions& options, const ModelConfig& config, TargetStep& step,
                                 comm::Collectives& comm, StepWatchdog& watchdog, const Tokenizer* tokenizer,
                                 Drafter* drafter = nullptr);

}  // namespace tachyon
