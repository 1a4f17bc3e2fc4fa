// Tachyon's tokenizer: byte-level BPE loaded from a Hugging Face tokenizer.json, with the ids of
// Hugging Face `tokenizers` (same normalizer, pre-tokenizer regex and Unicode classes, merges, added
// and special tokens, post-processor and ByteLevel decoder).
//
//   Tokenizer tok = Tokenizer::from_json(json_text);
//   std::vector<int32_t> ids = tok.encode("Hello");          // throws tachyon::Error on invalid UTF-8
//   std::string text = tok.decode(ids);
//   IncrementalDecoder stream(tok);  for (id : generated) out << stream.push(id);  out << stream.finish();
//
// A Tokenizer is immutable once built and cheap to copy or move (it shares its tables). Every const
// member may be called from several threads at once: per-call scratch and per-thread caches only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tachyon {

class Tokenizer {
 public:
  // Parses a tokenizer.json. Throws tachyon::Error naming the field or the unsupported component
  // (models other than BPE, normalizers other than NFC/NFD, pre-tokenizers other than Split/ByteLevel,
  // decoders other than ByteLevel, ...).
  static Tokenizer from_json(const std::string& tokenizer_json);

  // Text to ids. Added/special tokens written in the text are recognized; `add_special_tokens` adds the
  // post-processor's (BOS/EOS). Throws tachyon::Error when `text` is not valid UTF-8.
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = true) const;
  // Ids to text: the bytes of the tokens, with ill-formed UTF-8 replaced by U+FFFD. Unknown ids are
  // skipped, as `tokenizers` does; so are special tokens when `skip_special_tokens`.
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;

  // One more than the largest id (model vocabulary and added tokens): the size an embedding needs.
  int32_t vocab_size() const;
  std::optional<int32_t> token_to_id(std::string_view token) const;   // token in its stored spelling
  std::optional<std::string> id_to_token(int32_t id) const;           // e.g. "Ġthe", "<|im_end|>"
  bool is_special(int32_t id) const;                                  // skipped by skip_special_tokens

  // The bytes that `id` decodes to (empty for unknown ids); what IncrementalDecoder concatenates.
  std::string_view token_bytes(int32_t id) const;

  struct Impl;

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// Streaming detokenization: push ids as they are generated and get back only newly completed text. A
// multi-byte character is never split, and the concatenation of everything returned (push... then
// finish) equals Tokenizer::decode of all the ids. Holds a reference to the tokenizer.
class IncrementalDecoder {
 public:
  explicit IncrementalDecoder(const Tokenizer& tokenizer, bool skip_special_tokens = false);
  std::string push(int32_t id);
  // Flushes what is pending (an incomplete character becomes U+FFFD, as in decode) and resets.
  std::string finish();

 private:
  const Tokenizer* tokenizer_;
  bool skip_special_tokens_;
  std::string pending_;  // bytes of an incomplete trailing character
};

}  // namespace tachyon
