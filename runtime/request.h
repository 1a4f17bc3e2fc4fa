// A generation request as read from one line of a prompt file. Tachyon JSONL (DESIGN.md section 3):
//   {"id": ..., "prompt": "text" | "input_ids": [..], "max_tokens": n, "temperature": t, "top_p": p,
//    "top_k": k, "seed": s, "stop": "x" | ["x", ..], "stop_token_ids": [..], "ignore_eos": false, "n": 1}
// The other input formats (OpenAI batch, plain text: runtime/input_formats.h) produce the same Request.
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

// Which API a request came through: it decides the shape of its output line.
enum class Endpoint { Tachyon, Completions, ChatCompletions };

struct Request {
  size_t index = 0;                 // position in its input file (0-based), the output order
  nlohmann::json id;                // echoed back verbatim (the OpenAI batch line's custom_id)
  Endpoint endpoint = Endpoint::Tachyon;
  std::string model;                // the OpenAI body's "model", echoed in its response
  std::optional<std::string> prompt_text;
  bool add_special_tokens = true;   // false for rendered chat prompts: the template wrote them
  std::vector<int32_t> prompt_ids;  // filled from input_ids, or by tokenizing prompt_text
  int32_t max_tokens = 0;
  SamplingParams sampling;
  std::vector<std::string> stop;
  std::vector<int32_t> stop_token_ids;
  std::vector<std::string> stop_special_tokens;  // by spelling (a chat format's end of turn), to ids on rank 0
  bool ignore_eos = false;
  int32_t n = 1;                    // samples of this prompt (best-of-N), seeds from sample_seed()
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

// One line of an input file parsed as JSON. On failure `error` says why ("file:line: not valid JSON",
// or where the first byte of invalid UTF-8 is), and `id` holds the line's `id_field` when a repaired
// copy of it could be read, so that the error line can be matched to its request.
struct JsonLine {
  nlohmann::json value;
  std::string error;
  nlohmann::json id;
};
JsonLine parse_json_line(const std::string& line, const std::string& origin, const char* id_field);

// The seed a request without one gets: a mix of the run seed and the request's index.
uint64_t derived_seed(uint64_t run_seed, size_t index);
// The seed of sample `j` of a request with seed `seed`: sample 0 keeps the request's seed (so n = 1 and
// the first of n samples agree), the others get distinct seeds mixed from it.
uint64_t sample_seed(uint64_t seed, int32_t j);

// Field-level helpers shared by the input formats. They throw FieldError, which parsers turn into a
// RequestError naming the file and line.
struct FieldError {
  std::string message;
};
[[noreturn]] void field_error(const std::string& field, const std::string& problem);
int64_t field_int(const nlohmann::json& v, const std::string& field);
double field_number(const nlohmann::json& v, const std::string& field);
std::vector<int32_t> field_id_list(const nlohmann::json& v, const std::string& field);
// Sampling and stopping fields common to Tachyon lines and OpenAI bodies. Returns false when `key` is
// not one of them.
bool parse_common_field(Request& r, const std::string& key, const nlohmann::json& v);

}  // namespace tachyon
