// The byte-level BPE model: vocabulary, merges by rank, ignore_merges, and a per-thread word cache.
//
// Words arrive as raw bytes (the pre-tokenizer's output before the byte-level mapping); each byte starts
// as the token of its byte-level character, then pairs merge lowest rank first, leftmost on ties, which
// is the order `tokenizers` applies with its priority queue.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "model/tokenizer/hash_tables.h"

namespace tachyon {

class BpeModel {
 public:
  // From the tokenizer.json "model" value. Throws naming what is unsupported or inconsistent.
  static BpeModel from_json(const nlohmann::json& model);

  // Appends the ids of one word (raw bytes, non-empty). `cache` is the calling thread's word cache.
  void encode_word(std::string_view word, std::vector<int32_t>& out, WordTable& cache) const;

  // Token strings (byte-level spelling) by id; empty where no token has that id. Size = max id + 1.
  const std::vector<std::string>& id_to_token() const { return id_to_token_; }
  std::optional<int32_t> token_to_id(std::string_view token) const;
  // Number of entries of model.vocab (where `tokenizers` starts numbering added tokens).
  size_t vocab_entries() const { return vocab_entries_; }

  // The merge loop alone, on initial symbols (exposed for tests). `use_heap` picks the priority-queue
  // variant that long words use; both must agree.
  void merge(std::vector<int32_t>& symbols, bool use_heap) const;

  // Words per thread: the cache starts small (a short-lived thread pays little) and doubles when full up
  // to the maximum (about 1 MiB of slots), after which a full cache is cleared.
  static constexpr size_t kCacheInitialCapacity = 1 << 10;
  static constexpr size_t kCacheCapacity = 1 << 15;
  static constexpr size_t kMaxCachedWordBytes = 256;

 private:
  void encode_uncached(std::string_view word, std::vector<int32_t>& out) const;
  void merge_small(std::vector<int32_t>& symbols) const;
  void merge_heap(std::vector<int32_t>& symbols) const;

  std::vector<std::string> id_to_token_;
  WordTable token_ids_{16};   // byte-level token string -> id
  WordTable bytes_to_id_{16}; // raw bytes of tokens in the byte-level alphabet -> id
  MergeTable merges_;
  std::array<int32_t, 256> byte_ids_{};  // initial symbol of each byte, -1 when the vocabulary lacks it
  size_t vocab_entries_ = 0;
  bool ignore_merges_ = false;
  std::string unk_token_;  // empty: bytes without a token are dropped, as in `tokenizers`
  bool fuse_unk_ = false;
};

}  // namespace tachyon
