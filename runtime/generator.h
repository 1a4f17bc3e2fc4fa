// The generation loop of `tachyon generate`, run by every rank.
//
// Rank 0 owns the request queue: it reads the prompt file line by line (never all of it at once),
// admits requests into free KV slots (continuous batching: a finished sequence's slot is refilled at
// once), builds each step's plan (prefill chunks and decode tokens of every active sequence),
// broadcasts it, runs its shard, chooses tokens, and writes results in input order as they finish.
// The other ranks receive plans, run their shards and take part in choosing tokens, until rank 0
// sends the stop plan.
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
#include "runtime/request.h"
#include "runtime/step.h"
#include "runtime/watchdog.h"

namespace tachyon {

class Tokenizer;
class Drafter;

struct GenerateOptions {
  std::string prompts_path;
  std::string output_path;
  int max_batch = 8;          // concurrent sequences (KV slots)
  int max_model_len = 4096;   // positions per sequence: prompt + generated
  int max_step_tokens = 2048; // tokens per step, prefill chunks included
  int block_size = 0;         // speculative block (anchor + drafts), 0: no drafter
  RequestDefaults defaults;
};

struct GenerationSummary {
  size_t requests = 0;   // lines read
  size_t errors = 0;     // lines answered with an error
  uint64_t prompt_tokens = 0, completion_tokens = 0;
  uint64_t steps = 0;
  double seconds = 0.0;
  uint64_t target_passes = 0;     // steps' worth of passes that produced tokens, summed over sequences
  uint64_t drafted = 0, accepted = 0;  // draft tokens proposed and accepted
  double draft_seconds = 0.0, verify_seconds = 0.0;
  double acceptance_length() const { return target_passes ? double(completion_tokens) / target_passes : 0.0; }
};

// `drafter` (rank 0 only, or null): speculative decoding with DFlash; the step must then have been
// built with tap_layers = the drafter's target_layer_ids.
GenerationSummary run_generation(const GenerateOptions& options, const ModelConfig& config, TargetStep& step,
                                 comm::Collectives& comm, StepWatchdog& watchdog, const Tokenizer* tokenizer,
                                 Drafter* drafter = nullptr);

}  // namespace tachyon
