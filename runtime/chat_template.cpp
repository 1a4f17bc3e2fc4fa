#include "runtime/chat_template.h"

#include <fmt/format.h>

#include <algorithm>

#include "model/tokenizer/tokenizer.h"
#include "runtime/request.h"

namespace tachyon {

using nlohmann::json;

ChatFormat chat_format_for(const std::string& model_type) {
  if (model_type == "qwen3_moe" || model_type == "qwen3") return ChatFormat::ChatMl;
  if (model_type == "gpt_oss") return ChatFormat::Harmony;
  return ChatFormat::None;
}

const char* chat_format_name(ChatFormat f) {
  switch (f) {
    case ChatFormat::ChatMl: return "chatml";
    case ChatFormat::Harmony: return "harmony";
    case ChatFormat::None: break;
  }
  return "none";
}

std::vector<ChatMessage> parse_chat_messages(const json& messages) {
  if (!messages.is_array()) field_error("messages", fmt::format("expected a list of messages, got {}", messages.type_name()));
  if (messages.empty()) field_error("messages", "is empty");
  std::vector<ChatMessage> out;
  for (size_t i = 0; i < messages.size(); ++i) {
    const json& m = messages[i];
    const std::string where = fmt::format("messages[{}]", i);
    if (!m.is_object()) field_error(where, fmt::format("expected an object, got {}", m.type_name()));
    ChatMessage msg;
    if (!m.contains("role") || !m["role"].is_string()) field_error(where + ".role", "missing or not a string");
    msg.role = m["role"].get<std::string>();
    const json content = m.value("content", json());
    if (content.is_string()) {
      msg.content = content.get<std::string>();
    } else if (content.is_array()) {
      // Only text parts: images and audio have no meaning for a text model.
      for (size_t k = 0; k < content.size(); ++k) {
        const json& part = content[k];
        const std::string pw = fmt::format("{}.content[{}]", where, k);
        if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
          field_error(pw, "only {\"type\": \"text\", \"text\": ...} parts are supported");
        msg.content += part["text"].get<std::string>();
      }
    } else {
      field_error(where + ".content", fmt::format("expected a string or a list of text parts, got {}", content.type_name()));
    }
    out.push_back(std::move(msg));
  }
  return out;
}

namespace {

std::string render_chatml(const std::vector<ChatMessage>& messages, const ChatOptions& o) {
  std::string s;
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (m.role != "system" && m.role != "user" && m.role != "assistant")
      field_error(fmt::format("messages[{}].role", i), fmt::format("'{}' is not a ChatML role (system, user, assistant)", m.role));
    s += fmt::format("<|im_start|>{}\n{}<|im_end|>\n", m.role, m.content);
  }
  s += "<|im_start|>assistant\n";
  if (!o.enable_thinking) s += "<think>\n\n</think>\n\n";
  return s;
}

std::string render_harmony(const std::vector<ChatMessage>& messages, const ChatOptions& o) {
  if (o.reasoning_effort != "low" && o.reasoning_effort != "medium" && o.reasoning_effort != "high")
    field_error("reasoning_effort", fmt::format("must be low, medium or high, got '{}'", o.reasoning_effort));
  std::string s = "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n"
                  "Knowledge cutoff: 2024-06\n";
  if (!o.current_date.empty()) s += fmt::format("Current date: {}\n", o.current_date);
  s += fmt::format("\nReasoning: {}\n\n# Valid channels: analysis, commentary, final. Channel must be included for "
                   "every message.<|end|>", o.reasoning_effort);
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    // An OpenAI "system" message is what harmony calls the developer's instructions; harmony's own
    // system message (above) is the model's meta information.
    if (m.role == "system" || m.role == "developer")
      s += fmt::format("<|start|>developer<|message|># Instructions\n\n{}<|end|>", m.content);
    else if (m.role == "user")
      s += fmt::format("<|start|>user<|message|>{}<|end|>", m.content);
    else if (m.role == "assistant")
      s += fmt::format("<|start|>assistant<|channel|>final<|message|>{}<|end|>", m.content);
    else
      field_error(fmt::format("messages[{}].role", i),
                  fmt::format("'{}' is not supported (system, developer, user, assistant)", m.role));
  }
  s += "<|start|>assistant";
  return s;
}

}  // namespace

std::string render_chat(ChatFormat format, const std::vector<ChatMessage>& messages, const ChatOptions& options) {
  switch (format) {
    case ChatFormat::ChatMl: return render_chatml(messages, options);
    case ChatFormat::Harmony: return render_harmony(messages, options);
    case ChatFormat::None: break;
  }
  field_error("messages", "this model's family has no known chat format (ChatML for qwen3/qwen3_moe, harmony for "
                          "gpt_oss); send /v1/completions requests with a prompt instead");
}

std::vector<std::string> chat_stop_tokens(ChatFormat format) {
  switch (format) {
    case ChatFormat::ChatMl: return {"<|im_end|>"};
    case ChatFormat::Harmony: return {"<|return|>", "<|call|>"};
    case ChatFormat::None: break;
  }
  return {};
}

ChatReply split_harmony_reply(const Tokenizer& tok, std::span<const int32_t> ids) {
  auto id = [&](const char* t) { return tok.token_to_id(t).value_or(-1); };
  const int32_t start = id("<|start|>"), channel = id("<|channel|>"), message = id("<|message|>"), end = id("<|end|>"),
                ret = id("<|return|>"), call = id("<|call|>");
  ChatReply reply;
  if (message < 0 || std::find(ids.begin(), ids.end(), message) == ids.end()) {
    reply.content = tok.decode(ids, /*skip_special_tokens=*/true);
    return reply;
  }
  // Messages: [<|start|>role] [<|channel|>name ...] <|message|> body (<|end|> | <|return|> | <|call|> | the end).
  size_t i = 0;
  while (i < ids.size()) {
    size_t header = i;
    while (i < ids.size() && ids[i] != message) ++i;
    if (i == ids.size()) break;  // a header cut off before its message
    std::string name;
    for (size_t k = header; k < i; ++k)
      if (ids[k] == channel) {
        size_t e = k + 1;
        while (e < i && ids[e] != start && ids[e] != channel && !tok.is_special(ids[e])) ++e;
        name = tok.decode(ids.subspan(k + 1, e - k - 1), true);
        if (const size_t sp = name.find(' '); sp != std::string::npos) name.resize(sp);  // "commentary to=functions.x"
      }
    const size_t body = ++i;
    while (i < ids.size() && ids[i] != end && ids[i] != ret && ids[i] != call) ++i;
    const std::string text = tok.decode(ids.subspan(body, i - body), true);
    if (name == "final") reply.content = text;
    else if (name == "analysis") reply.reasoning += text;
    if (i < ids.size()) ++i;  // the terminator
    if (i < ids.size() && ids[i] == start) ++i;
  }
  return reply;
}

}  // namespace tachyon
