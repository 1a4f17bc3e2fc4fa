// Added (and special) tokens: the strings that are split out of the text before normalization and
// pre-tokenization and map straight to their ids, as `tokenizers`' AddedVocabulary does it.
//
// Two passes, as there: tokens with normalized=false are found in the original text; tokens with
// normalized=true are found, in their normalized spelling, in each remaining piece after normalization.
// Matching is leftmost-longest; single_word, lstrip and rstrip are honoured.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tachyon {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;
};

// One piece of a split: a token id with the byte range it covers, or plain text (id < 0).
struct AddedSplit {
  size_t begin, end;
  int32_t id;
};

class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  // `patterns[i]` is what to look for (the content, or its normalized form) for token `tokens[i]`.
  AddedTokenMatcher(std::vector<std::string> patterns, std::vector<AddedToken> tokens);

  bool empty() const { return patterns_.empty(); }
  // Splits `text` into pieces (appended to `out`), as `tokenizers`' AddedVocabulary::find_matches.
  void split(std::string_view text, std::vector<AddedSplit>& out) const;

 private:
  std::vector<std::string> patterns_;
  std::vector<AddedToken> tokens_;
  std::array<std::vector<uint32_t>, 256> by_first_byte_;  // pattern indices, longest first
  int single_first_byte_ = -1;  // the first byte of every pattern, when they share one ('<' usually)
};

}  // namespace tachyon
