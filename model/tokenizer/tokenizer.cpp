// Encoding and decoding (see tokenizer.h). The order of stages is the one of `tokenizers`:
//   1. added tokens with normalized=false are split out of the original text;
//   2. each remaining piece is normalized, then added tokens with normalized=true are split out of it;
//   3. each remaining piece is pre-tokenized into words, and each word is encoded by BPE;
//   4. truncation, then the post-processor's special tokens.
#include "model/tokenizer/tokenizer.h"

#include <algorithm>

#include "model/error.h"
#include "model/tokenizer/tokenizer_impl.h"
#include "model/tokenizer/utf8.h"

namespace tachyon {

WordTable& Tokenizer::Impl::thread_cache() const {
  struct Entry {
    uint64_t uid;
    std::unique_ptr<WordTable> table;
  };
  // A few tokenizers per thread at most; the oldest cache goes when a new tokenizer shows up.
  thread_local std::vector<Entry> caches;
  for (Entry& e : caches)
    if (e.uid == uid) return *e.table;
  if (caches.size() >= 4) caches.erase(caches.begin());
  caches.push_back({uid, std::make_unique<WordTable>(BpeModel::kCacheInitialCapacity)});
  return *caches.back().table;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  utf8::require_valid(text, "text to encode");
  const Impl& t = *impl_;
  WordTable& cache = t.thread_cache();
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 8);

  auto encode_words = [&](std::string_view piece) {
    t.pre_tokenizer.split(piece, [&](std::string_view word) { t.model.encode_word(word, ids, cache); });
  };
  std::vector<AddedSplit> splits;
  auto encode_normalized = [&](std::string_view piece) {
    std::string storage;
    const std::string_view normalized = t.normalizer.normalize(piece, storage);
    if (t.normalized_added.empty()) {
      encode_words(normalized);
      return;
    }
    splits.clear();
    t.normalized_added.split(normalized, splits);
    for (const AddedSplit& s : splits) {
      if (s.id >= 0) ids.push_back(s.id);
      else encode_words(normalized.substr(s.begin, s.end - s.begin));
    }
  };
  if (t.raw_added.empty()) {
    encode_normalized(text);
  } else {
    std::vector<AddedSplit> raw_splits;
    t.raw_added.split(text, raw_splits);
    for (const AddedSplit& s : raw_splits) {
      if (s.id >= 0) ids.push_back(s.id);
      else encode_normalized(text.substr(s.begin, s.end - s.begin));
    }
  }

  if (t.truncation) {
    const size_t added = add_special_tokens ? t.post_processor.added_count() : 0;
    const size_t keep = t.truncation->max_length > added ? t.truncation->max_length - added : 0;
    if (ids.size() > keep) {
      if (t.truncation->left) ids.erase(ids.begin(), ids.end() - static_cast<std::ptrdiff_t>(keep));
      else ids.resize(keep);
    }
  }
  t.post_processor.apply(ids, add_special_tokens);
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::string bytes;
  for (int32_t id : ids) {
    if (skip_special_tokens && is_special(id)) continue;
    bytes += token_bytes(id);
  }
  std::string out;
  out.reserve(bytes.size());
  utf8::append_lossy(out, bytes, /*final=*/true);
  return out;
}

int32_t Tokenizer::vocab_size() const { return static_cast<int32_t>(impl_->tokens.size()); }

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  if (auto it = impl_->added_ids.find(std::string(token)); it != impl_->added_ids.end()) return it->second;
  return impl_->model.token_to_id(token);
}

std::optional<std::string> Tokenizer::id_to_token(int32_t id) const {
  if (id < 0 || id >= vocab_size() || !(impl_->flags[id] & Impl::kExists)) return std::nullopt;
  return impl_->tokens[id];
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && id < vocab_size() && (impl_->flags[id] & Impl::kSpecial);
}

std::string_view Tokenizer::token_bytes(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return {};
  return impl_->bytes[id];
}

}  // namespace tachyon
