// A generation request as read from one line of a prompt file (Tachyon JSONL, DESIGN.md section 3):
//   {"id": ..., "prompt": "text" | "input_ids": [..], "max_tokens": n, "temperature": t, "top_p": p,
//    "top_k": k, "seed": s, "stop": "x" | ["x", ..], "stop_token_ids": [..], "ignore_eos": false}
// A bad line becomes a RequestError carrying the id (when it could be read) and a message naming the
// file, the line and the field; the run goes on with the other lines.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "runtime/sampler.h"

namespace tachyon {

struct RequestDefaults {
  int32_t max_tokens = 256;
  uint64_t seed = 0;  // run-wide seed; a request without its own seed gets one derived from it and its index
};

struct Request {
  size_t index = 0;                 // position in the input (0-based), the output order
  nlohmann::json id;                // echoed back verbatim
  std::optional<std::string> prompt_text;
  std::vector<int32_t> prompt_ids;  // filled from input_ids, or by tokenizing prompt_text
  int32_t max_tokens = 0;
  SamplingParams sampling;
  std::vector<std::string> stop;
  std::vector<int32_t> stop_token_ids;
  bool ignore_eos = false;
  std::vector<std::string> warnings;  // unknown fields, reported but not fatal
};

struct RequestError {
  size_t index = 0;
  nlohmann::json id;  // null when the line had none we could read
  std::string message;
};

// Parses one input line. `origin` is "file:line" for messages. The id defaults to the line number.
std::variant<Request, RequestError> parse_request_line(const std::string& line, size_t index, const std::string& origin,
                                                       const RequestDefaults& defaults);

// The seed a request without one gets: a mix of the run seed and the request's index.
uint64_t derived_seed(uint64_t run_seed, size_t index);

}  // namespace tachyon
