// A request being generated: its samples (n of them, each a sequence in its own KV slot), how much of
// each prompt is in the cache, the tokens produced so far, timings, and why each finished. A request's
// output line is written once all its samples are done.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "model/tokenizer/tokenizer.h"
#include "runtime/request.h"

namespace tachyon {

using Clock = std::chrono::steady_clock;

// One finished sample of a request.
struct SampleResult {
  std::vector<int32_t> output;    // generated tokens
  std::string text;               // decoded output (when a tokenizer is present)
  std::string finish_reason;      // "stop" or "length"
  nlohmann::json stop_reason;     // the stop string or token id that ended it (null otherwise)
  int target_passes = 0;          // steps that produced tokens (for the acceptance length)
  Clock::time_point admitted, first_token, finished;
};

// A request and its samples, from the moment its line is read until its output line is written.
struct RequestGroup {
  Request request;               // sample 0's parameters; sample j differs only by its seed
  size_t file = 0;               // which input file (its output file)
  Clock::time_point queued;      // when the line was read
  std::vector<SampleResult> samples;
  int admitted = 0, finished = 0;

  int prompt_len() const { return static_cast<int>(request.prompt_ids.size()); }
  bool all_admitted() const { return admitted == request.n; }
  bool done() const { return finished == request.n; }
  size_t completion_tokens() const;
  int target_passes() const;
  double accept_len() const;
};

struct ActiveSequence {
  RequestGroup* group = nullptr;
  int sample = 0;
  Request request;                // the group's request with this sample's seed
  int slot = -1;
  int prompt_done = 0;            // prompt tokens already in the KV cache
  std::vector<int32_t> output;    // generated tokens
  std::string text;               // decoded output so far (when a tokenizer is present)
  std::unique_ptr<IncrementalDecoder> detokenizer;  // streams `text` as tokens arrive
  std::string finish_reason;      // "stop" or "length" once finished
  nlohmann::json stop_reason;     // the stop string or token id that ended it (null otherwise)
  int target_passes = 0;          // steps that produced tokens (for the acceptance length)
  Clock::time_point admitted, first_token, finished;

  int prompt_len() const { return static_cast<int>(request.prompt_ids.size()); }
  bool in_prefill() const { return prompt_done < prompt_len(); }
  // Position of the next token to feed (decode phase).
  int next_position() const { return prompt_len() + static_cast<int>(output.size()) - 1; }
  // Moves the finished sample's results into its group.
  void retire_into_group();
};

double ms_between(Clock::time_point a, Clock::time_point b);
// Per-request timings (milliseconds): queue (read -> first sample admitted), time to first token and
// time per output token (the first sample's; samples run side by side), end to end.
struct RequestTimings {
  double queue_ms = 0, ttft_ms = 0, tpot_ms = 0, e2e_ms = 0;
};
RequestTimings request_timings(const RequestGroup& g);

// The Tachyon output line of a finished request (DESIGN.md section 3), without the newline. With n > 1
// the per-sample fields move into "outputs": [{"index", "text", "token_ids", "finish_reason", ...}].
// `timings`: false leaves wall-clock figures out, so that the line is a pure function of the input.
std::string result_json(const RequestGroup& g, bool with_text, bool timings);
std::string error_json(const nlohmann::json& id, const std::string& message);

}  // namespace tachyon
