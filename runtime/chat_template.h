// Chat messages -> the prompt text a model family was trained on, for OpenAI `/v1/chat/completions`
// bodies. Two formats, written from their public descriptions (not from Jinja templates, which we do
// not run):
//   ChatML (Qwen3, model_type qwen3_moe / qwen3):
//     <|im_start|>{role}\n{content}<|im_end|>\n ... <|im_start|>assistant\n
//     (with chat_template_kwargs.enable_thinking = false, an empty "<think>\n\n</think>\n\n" follows,
//     as Qwen3's template writes to switch thinking off)
//   Harmony (gpt-oss, model_type gpt_oss):
//     <|start|>system<|message|>{model identity, knowledge cutoff, reasoning effort, channels}<|end|>
//     <|start|>developer<|message|># Instructions\n\n{system prompt}<|end|>      (when one is given)
//     <|start|>user<|message|>{content}<|end|>
//     <|start|>assistant<|channel|>final<|message|>{content}<|end|>             (earlier replies)
//     <|start|>assistant                                                         (the model goes on)
//   The system message carries no "Current date" line unless chat_template_kwargs.current_date gives
//   one: a date taken from the clock would make the same batch file give different prompts each day.
// Rendered prompts are tokenized without the tokenizer's own special tokens (the template wrote them),
// and each format adds the ids that end an assistant turn to the request's stop ids.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace tachyon {

class Tokenizer;

enum class ChatFormat { None, ChatMl, Harmony };

// The chat format of a model family (config.json's model_type); None when we know of none.
ChatFormat chat_format_for(const std::string& model_type);
const char* chat_format_name(ChatFormat f);

struct ChatMessage {
  std::string role;     // system, developer, user, assistant
  std::string content;
};

struct ChatOptions {
  bool enable_thinking = true;            // ChatML: false writes the empty think block
  std::string reasoning_effort = "medium";  // Harmony: low, medium, high
  std::string current_date;               // Harmony: "" leaves the date out
};

// Reads an OpenAI `messages` array (content as a string or a list of {"type": "text", "text"} parts).
// Throws FieldError (runtime/request.h) naming the message and field.
std::vector<ChatMessage> parse_chat_messages(const nlohmann::json& messages);

// Throws FieldError when the format is None or a role is not one the format has.
std::string render_chat(ChatFormat format, const std::vector<ChatMessage>& messages, const ChatOptions& options);

// Special tokens that end an assistant turn in the format (added as stop tokens when the tokenizer
// knows them): <|im_end|> for ChatML; <|return|> and <|call|> for Harmony.
std::vector<std::string> chat_stop_tokens(ChatFormat format);

// A harmony reply split by channel: gpt-oss first writes its reasoning on the analysis channel, then
// the answer on the final channel (<|channel|>analysis<|message|>...<|end|><|start|>assistant
// <|channel|>final<|message|>...<|return|>). `content` is the final channel's text (none when the
// reply ended before it, e.g. at max_tokens), `reasoning` the analysis channel's. A reply without
// channel markers is all content.
struct ChatReply {
  std::optional<std::string> content;
  std::string reasoning;
};
ChatReply split_harmony_reply(const Tokenizer& tokenizer, std::span<const int32_t> ids);

}  // namespace tachyon
