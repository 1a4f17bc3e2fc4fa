#include "runtime/openai_batch.h"

#include <fmt/format.h>

#include <set>

#include "model/fnv1a.h"
#include "runtime/rng.h"
#include "runtime/sequence.h"

namespace tachyon {

using nlohmann::json;

namespace {

// Fields of OpenAI bodies that change what is generated and that Tachyon does not implement: a request
// that sets them to anything but their neutral value gets an error line instead of a silently
// different answer.
bool is_neutral(const std::string& k, const json& v) {
  if (v.is_null()) return true;
  if (k == "logprobs" || k == "echo") return v.is_boolean() ? !v.get<bool>() : false;
  if (k == "top_logprobs") return v.is_number() && v.get<double>() == 0;
  if (k == "presence_penalty" || k == "frequency_penalty" || k == "min_p" || k == "min_tokens")
    return v.is_number() && v.get<double>() == 0;
  if (k == "repetition_penalty") return v.is_number() && v.get<double>() == 1;
  if (k == "logit_bias") return v.is_object() && v.empty();
  if (k == "tools" || k == "functions") return v.is_array() && v.empty();
  if (k == "suffix") return v.is_string() && v.get<std::string>().empty();
  return false;
}
const std::set<std::string> kUnsupported = {"logprobs", "echo", "top_logprobs", "presence_penalty", "frequency_penalty",
                                            "min_p", "min_tokens", "repetition_penalty", "logit_bias", "tools",
                                            "functions", "tool_choice", "function_call", "response_format", "suffix",
                                            "best_of", "guided_json", "guided_regex", "guided_choice", "structured_outputs"};
// Fields that need no action in an offline batch run.
const std::set<std::string> kIgnored = {"model", "user", "metadata", "store", "service_tier", "stream_options",
                                        "skip_special_tokens", "spaces_between_special_tokens", "parallel_tool_calls",
                                        "add_generation_prompt", "return_token_ids", "priority", "request_id"};

uint64_t hash_json(const json& j) { return mix64(fnv1a64(j.dump())); }  // FNV-1a over the canonical dump, then mixed

std::vector<int32_t> parse_prompt(const json& v) {
  if (v.is_string()) return {};
  if (v.is_array() && !v.empty() && v[0].is_number()) return field_id_list(v, "prompt");
  if (v.is_array() && v.size() == 1) {
    if (v[0].is_string()) return {};
    if (v[0].is_array()) return field_id_list(v[0], "prompt[0]");
  }
  if (v.is_array() && v.size() > 1)
    field_error("prompt", fmt::format("a list of {} prompts: put one prompt per batch line", v.size()));
  field_error("prompt", fmt::format("expected a string or a list of token ids, got {}", v.dump().substr(0, 80)));
}

Request parse_body(const json& body, Endpoint endpoint, size_t index, const RequestDefaults& d, ChatFormat chat) {
  Request r;
  r.index = index;
  r.endpoint = endpoint;
  r.max_tokens = d.max_tokens;
  r.sampling.seed = derived_seed(d.seed, index);
  ChatOptions chat_options;
  const json* messages = nullptr;
  bool have_prompt = false;
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& k = it.key();
    const json& v = it.value();
    if (k == "model") {
      if (!v.is_string() && !v.is_null()) field_error(k, fmt::format("expected a string, got {}", v.type_name()));
      if (v.is_string()) r.model = v.get<std::string>();
    } else if (endpoint == Endpoint::Completions && k == "prompt") {
      r.prompt_ids = parse_prompt(v);
      if (r.prompt_ids.empty()) r.prompt_text = v.is_string() ? v.get<std::string>() : v[0].get<std::string>();
      have_prompt = true;
    } else if (endpoint == Endpoint::ChatCompletions && k == "messages") {
      messages = &v;
    } else if (endpoint == Endpoint::ChatCompletions && k == "max_completion_tokens") {
      parse_common_field(r, "max_tokens", v);
    } else if (endpoint == Endpoint::ChatCompletions && k == "reasoning_effort") {
      if (!v.is_null()) {
        if (!v.is_string()) field_error(k, "expected low, medium or high");
        chat_options.reasoning_effort = v.get<std::string>();
      }
    } else if (endpoint == Endpoint::ChatCompletions && k == "chat_template_kwargs") {
      if (!v.is_object()) field_error(k, fmt::format("expected an object, got {}", v.type_name()));
      for (auto kw = v.begin(); kw != v.end(); ++kw) {
        const std::string f = "chat_template_kwargs." + kw.key();
        if (kw.key() == "enable_thinking") {
          if (!kw.value().is_boolean()) field_error(f, "expected true or false");
          chat_options.enable_thinking = kw.value().get<bool>();
        } else if (kw.key() == "current_date" || kw.key() == "reasoning_effort") {
          if (!kw.value().is_string()) field_error(f, "expected a string");
          (kw.key() == "current_date" ? chat_options.current_date : chat_options.reasoning_effort) = kw.value().get<std::string>();
        } else {
          r.warnings.push_back(fmt::format("unknown field '{}' ignored", f));
        }
      }
    } else if (k == "stream") {
      if (v.is_boolean() && v.get<bool>()) r.warnings.push_back("'stream' ignored: batch results are whole lines");
    } else if (kUnsupported.count(k)) {
      if (!is_neutral(k, v)) field_error(k, "is not supported by Tachyon (the request would get a different answer than asked)");
    } else if (kIgnored.count(k)) {
      continue;
    } else if (!parse_common_field(r, k, v)) {
      r.warnings.push_back(fmt::format("unknown field '{}' ignored", k));
    }
  }
  if (endpoint == Endpoint::Completions) {
    if (!have_prompt) field_error("body.prompt", "missing: a completions request needs a prompt");
    if (r.prompt_text && r.prompt_text->empty()) field_error("body.prompt", "is empty");
  } else {
    if (!messages) field_error("body.messages", "missing: a chat request needs messages");
    r.prompt_text = render_chat(chat, parse_chat_messages(*messages), chat_options);
    r.add_special_tokens = false;
    for (const std::string& t : chat_stop_tokens(chat)) r.stop_special_tokens.push_back(t);
  }
  return r;
}

std::string hex_id(const char* prefix, const json& custom_id, size_t index, uint64_t salt) {
  return fmt::format("{}{:016x}", prefix, mix64(hash_json(custom_id) ^ mix64(index * 0x9e3779b97f4a7c15ull + salt)));
}

// Output lines keep the field order of vLLM's (id, custom_id, response, error), hence ordered_json.
using ojson = nlohmann::ordered_json;
std::string dump(const ojson& j) { return j.dump(-1, ' ', false, ojson::error_handler_t::replace); }
ojson ordered(const json& j) { return ojson::parse(j.dump()); }

}  // namespace

std::variant<Request, RequestError> parse_openai_line(const std::string& line, size_t index, const std::string& origin,
                                                      const RequestDefaults& defaults, ChatFormat chat) {
  JsonLine parsed = parse_json_line(line, origin, "custom_id");
  if (!parsed.error.empty()) return RequestError{index, parsed.id, parsed.error};
  const json& j = parsed.value;
  if (!j.is_object()) return RequestError{index, json(), fmt::format("{}: expected a JSON object, got {}", origin, j.type_name())};
  const json id = j.value("custom_id", json());
  try {
    if (id.is_null()) field_error("custom_id", "missing: every batch line needs a custom_id");
    if (!id.is_string()) field_error("custom_id", fmt::format("expected a string, got {}", id.type_name()));
    if (j.contains("method") && j["method"] != "POST")
      field_error("method", fmt::format("expected \"POST\", got {}", j["method"].dump()));
    if (!j.contains("url") || !j["url"].is_string()) field_error("url", "missing or not a string");
    const std::string url = j["url"].get<std::string>();
    Endpoint endpoint;
    if (url == "/v1/completions") endpoint = Endpoint::Completions;
    else if (url == "/v1/chat/completions") endpoint = Endpoint::ChatCompletions;
    else field_error("url", fmt::format("'{}' is not supported; the supported endpoints are {}", url, kOpenAiEndpoints));
    if (!j.contains("body") || !j["body"].is_object()) field_error("body", "missing or not an object");
    Request r = parse_body(j["body"], endpoint, index, defaults, chat);
    r.id = id;
    for (auto it = j.begin(); it != j.end(); ++it)
      if (it.key() != "custom_id" && it.key() != "method" && it.key() != "url" && it.key() != "body")
        r.warnings.push_back(fmt::format("unknown field '{}' ignored", it.key()));
    return r;
  } catch (const FieldError& e) {
    return RequestError{index, id, fmt::format("{}: {}", origin, e.message)};
  }
}

std::string openai_result_line(const RequestGroup& g, const OpenAiLineOptions& o) {
  const Request& r = g.request;
  const bool chat = r.endpoint == Endpoint::ChatCompletions;
  ojson choices = ojson::array();
  for (size_t i = 0; i < g.samples.size(); ++i) {
    const SampleResult& s = g.samples[i];
    ojson c;
    c["index"] = i;
    if (chat && o.chat == ChatFormat::Harmony && o.tokenizer) {
      ChatReply reply = split_harmony_reply(*o.tokenizer, s.output);
      // A stop string ends the text, not the token ids: cut the answer there too.
      if (reply.content && s.stop_reason.is_string())
        if (const size_t at = reply.content->find(s.stop_reason.get<std::string>()); at != std::string::npos)
          reply.content->resize(at);
      c["message"] = {{"role", "assistant"}};
      c["message"]["content"] = reply.content ? ojson(*reply.content) : ojson(nullptr);
      if (!reply.reasoning.empty()) c["message"]["reasoning_content"] = reply.reasoning;
    } else if (chat) {
      c["message"] = {{"role", "assistant"}, {"content", s.text}};
    } else {
      c["text"] = s.text;
    }
    if (!o.with_text) c["token_ids"] = s.output;
    c["logprobs"] = nullptr;
    c["finish_reason"] = s.finish_reason;
    c["stop_reason"] = ordered(s.stop_reason);
    choices.push_back(std::move(c));
  }
  ojson body;
  body["id"] = hex_id(chat ? "chatcmpl-" : "cmpl-", r.id, r.index, 3);
  body["object"] = chat ? "chat.completion" : "text_completion";
  body["created"] = o.created;
  body["model"] = r.model.empty() ? o.model : r.model;
  body["choices"] = std::move(choices);
  const size_t completion = g.completion_tokens();
  body["usage"] = {{"prompt_tokens", g.prompt_len()}, {"completion_tokens", completion},
                   {"total_tokens", g.prompt_len() + completion}};
  ojson line;
  line["id"] = hex_id("batch_req_", r.id, r.index, 1);
  line["custom_id"] = ordered(r.id);
  line["response"] = {{"status_code", 200}, {"request_id", hex_id("tachyon-batch-", r.id, r.index, 2)}, {"body", std::move(body)}};
  line["error"] = nullptr;
  return dump(line);
}

std::string openai_error_line(const json& custom_id, size_t index, const std::string& message) {
  ojson line;
  line["id"] = hex_id("batch_req_", custom_id, index, 1);
  line["custom_id"] = ordered(custom_id);
  ojson error = {{"message", message}, {"type", "BadRequestError"}, {"param", nullptr}, {"code", 400}};
  line["response"] = {{"status_code", 400}, {"request_id", hex_id("tachyon-batch-", custom_id, index, 2)},
                      {"body", {{"error", std::move(error)}}}};
  line["error"] = {{"code", "invalid_request"}, {"message", message}};
  return dump(line);
}

}  // namespace tachyon
