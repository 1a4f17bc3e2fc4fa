// The generation loop of `tachyon generate`, run by every rank.
//
// Rank 0 owns the request queue: it reads the prompt file line by line (never all of it at once),
// admits requests into free KV slots (continuous batching: a finished sequence's slot is refilled at
// once), builds each step's plan (prefill chunks and decode tokens of every active sequence),
// broadcasts it, runs its shard, chooses tokens, and writes results in input order as they finish.
// The other ranks receive plans, run their shards and take part in choosing tokens, until rank 0
// sends the stop plan.
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

struct GenerateOptions {
  std::string prompts_path;
  std::string output_path;
  int max_batch = 8;          // concurrent sequences (KV slots)
  int max_model_len = 4096;   // positions per sequence: prompt + generated
  int max_step_tokens = 2048; // tokens per step, prefill chunks included
  RequestDefaults defaults;
};

struct GenerationSummary {
  size_t requests = 0;   // lines read
  size_t errors = 0;     // lines answered with an error
  uint64_t prompt_tokens = 0, completion_tokens = 0;
  uint64_t steps = 0;
  double seconds = 0.0;
};

GenerationSummary run_generation(const GenerateOptions& options, const ModelConfig& config, TargetStep& step,
                                 comm::Collectives& comm, StepWatchdog& watchdog, const Tokenizer* tokenizer);

}  // namespace tachyon
