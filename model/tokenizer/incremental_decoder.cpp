// Streaming detokenization (see tokenizer.h). Decoding is "concatenate the tokens' bytes, then convert
// ill-formed UTF-8 to U+FFFD"; that conversion can run on a stream as long as a trailing sequence that
// may still complete is held back, which is all this class does.
#include "model/tokenizer/tokenizer.h"
#include "model/tokenizer/utf8.h"

namespace tachyon {

IncrementalDecoder::IncrementalDecoder(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(&tokenizer), skip_special_tokens_(skip_special_tokens) {}

std::string IncrementalDecoder::push(int32_t id) {
  if (skip_special_tokens_ && tokenizer_->is_special(id)) return {};
  pending_ += tokenizer_->token_bytes(id);
  std::string out;
  const size_t consumed = utf8::append_lossy(out, pending_, /*final=*/false);
  pending_.erase(0, consumed);
  return out;
}

std::string IncrementalDecoder::finish() {
  std::string out;
  utf8::append_lossy(out, pending_, /*final=*/true);
  pending_.clear();
  return out;
}

}  // namespace tachyon
