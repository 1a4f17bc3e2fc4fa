// The insides of Tokenizer, shared by tokenizer_load.cpp (building it), tokenizer.cpp (encoding,
// decoding) and incremental_decoder.cpp. Immutable once built.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/tokenizer/added_tokens.h"
#include "model/tokenizer/bpe_model.h"
#include "model/tokenizer/normalizer.h"
#include "model/tokenizer/post_processor.h"
#include "model/tokenizer/pre_tokenizer.h"
#include "model/tokenizer/tokenizer.h"

namespace tachyon {

struct Truncation {
  size_t max_length = 0;
  bool left = false;  // "direction": "Left" drops from the start
};

struct Tokenizer::Impl {
  uint64_t uid = 0;  // tells this tokenizer's per-thread word caches apart from other tokenizers'

  // Encoding, stage by stage.
  AddedTokenMatcher raw_added;         // added tokens with normalized=false, found in the original text
  Normalizer normalizer;
  AddedTokenMatcher normalized_added;  // added tokens with normalized=true, found after normalization
  PreTokenizer pre_tokenizer;
  BpeModel model;
  std::optional<Truncation> truncation;
  PostProcessor post_processor;

  // By id: the token string (added tokens override the model's), its decoded bytes, and flags.
  enum : uint8_t { kExists = 1, kSpecial = 2, kAdded = 4 };
  std::vector<std::string> tokens;
  std::vector<std::string> bytes;
  std::vector<uint8_t> flags;
  std::unordered_map<std::string, int32_t> added_ids;  // added token content -> id

  // The calling thread's word cache for this tokenizer.
  WordTable& thread_cache() const;
};

}  // namespace tachyon
