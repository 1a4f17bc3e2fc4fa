// A request being generated: its slot in the KV cache, how much of its prompt is in the cache, the
// tokens produced so far, its timings, and why it finished.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "model/tokenizer/tokenizer.h"
#include "runtime/request.h"

namespace tachyon {

using Clock = std::chrono::steady_clock;

struct ActiveSequence {
  Request request;
  int slot = -1;
  int prompt_done = 0;            // prompt tokens already in the KV cache
  std::vector<int32_t> output;    // generated tokens
  std::string text;               // decoded output so far (when a tokenizer is present)
  std::unique_ptr<IncrementalDecoder> detokenizer;  // streams `text` as tokens arrive
  std::string finish_reason;      // "stop" or "length" once finished
  nlohmann::json stop_reason;     // the stop string or token id that ended it (null otherwise)
  int target_passes = 0;          // steps that produced tokens (for the acceptance length)
  Clock::time_point queued, admitted, first_token, finished;

  int prompt_len() const { return static_cast<int>(request.prompt_ids.size()); }
  bool in_prefill() const { return prompt_done < prompt_len(); }
  // Position of the next token to feed (decode phase).
  int next_position() const { return prompt_len() + static_cast<int>(output.size()) - 1; }
};

// The output line of a finished sequence (DESIGN.md section 3), without the newline.
std::string result_json(const ActiveSequence& s, bool with_text);
std::string error_json(const nlohmann::json& id, const std::string& message);

}  // namespace tachyon
