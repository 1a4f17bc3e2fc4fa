// The OpenAI batch file format, as `vllm run-batch` reads and writes it.
//
// Input, one line per request:
//   {"custom_id": "r1", "method": "POST", "url": "/v1/completions" | "/v1/chat/completions",
//    "body": {"model": ..., "prompt": "text" | [token ids] | "messages": [...], "max_tokens": 16,
//             "temperature": 0.7, "top_p": 0.9, "seed": 1, "stop": [...], "n": 2, ...}}
// Output, one line per request, in input order:
//   {"id": "batch_req_<hex>", "custom_id": "r1",
//    "response": {"status_code": 200, "request_id": "tachyon-batch-<hex>",
//                 "body": {"id": "cmpl-<hex>", "object": "text_completion" | "chat.completion", "created": t,
//                          "model": ..., "choices": [{"index": 0, "text" | "message": {...}, "logprobs": null,
//                          "finish_reason": "stop" | "length", "stop_reason": ...}], "usage": {...}}},
//    "error": null}
// A request that cannot run gets status_code 400 and an error body {"error": {"message", "type", "param",
// "code"}} (and the same message in the line's "error"), so readers that check either field see it.
// Ids are hashes of the custom_id and the position, not random: a resumed or repeated run writes the
// same bytes.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <variant>

#include "runtime/chat_template.h"
#include "runtime/request.h"

namespace tachyon {

struct RequestGroup;

inline constexpr const char* kOpenAiEndpoints = "/v1/completions and /v1/chat/completions";

// Parses one batch line; `chat` renders chat bodies (None: chat requests get an error line).
std::variant<Request, RequestError> parse_openai_line(const std::string& line, size_t index, const std::string& origin,
                                                      const RequestDefaults& defaults, ChatFormat chat);

struct OpenAiLineOptions {
  int64_t created = 0;       // the bodies' "created" (unix seconds)
  std::string model;         // the bodies' "model" when the request named none
  bool with_text = true;     // false: the checkpoint has no tokenizer, choices carry token_ids only
  // Harmony chat replies are split by channel: message.content is the final channel, and the analysis
  // channel goes to message.reasoning_content (as vLLM's harmony parsing does).
  ChatFormat chat = ChatFormat::None;
  const Tokenizer* tokenizer = nullptr;
};

// The output line of a finished request (without the newline).
std::string openai_result_line(const RequestGroup& group, const OpenAiLineOptions& options);
// The output line of a request that could not run: status 400 and the message.
std::string openai_error_line(const nlohmann::json& custom_id, size_t index, const std::string& message);

}  // namespace tachyon
