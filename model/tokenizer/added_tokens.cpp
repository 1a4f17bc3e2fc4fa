// Added-token splitting (see added_tokens.h).
#include "model/tokenizer/added_tokens.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "model/tokenizer/regex.h"
#include "model/tokenizer/regex_translate.h"
#include "model/tokenizer/utf8.h"

namespace tachyon {
namespace {

// `tokenizers` strips with Rust's Unicode \s, the White_Space property.
bool is_white_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// Rust's Unicode \w (Alphabetic, marks, decimal digits, connector punctuation, joiners), which
// `tokenizers` uses for single_word tokens.
bool is_word_char(std::string_view text_at_char) {
  static const Regex word =
      Regex::from_pcre2(fmt::format("[{}\\x{{200C}}\\x{{200D}}]", onig_word_class_items()), "the single_word class");
  return word.matches_prefix(text_at_char);
}

// Start of the code point that ends at `end` (exclusive).
size_t previous_char(std::string_view s, size_t end) {
  size_t i = end - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return i;
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(std::vector<std::string> patterns, std::vector<AddedToken> tokens)
    : patterns_(std::move(patterns)), tokens_(std::move(tokens)) {
  for (uint32_t i = 0; i < patterns_.size(); ++i)
    if (!patterns_[i].empty()) by_first_byte_[static_cast<unsigned char>(patterns_[i][0])].push_back(i);
  int distinct = 0;
  for (int b = 0; b < 256; ++b) {
    auto& list = by_first_byte_[b];
    std::stable_sort(list.begin(), list.end(),
                     [&](uint32_t x, uint32_t y) { return patterns_[x].size() > patterns_[y].size(); });
    if (!list.empty()) ++distinct, single_first_byte_ = b;
  }
  if (distinct != 1) single_first_byte_ = -1;
}

void AddedTokenMatcher::split(std::string_view text, std::vector<AddedSplit>& out) const {
  size_t start_offset = 0;  // end of the last piece emitted
  size_t pos = 0;           // where the search for the next match resumes
  while (pos < text.size()) {
    if (single_first_byte_ >= 0) {  // jump to the next possible start
      const void* hit = std::memchr(text.data() + pos, single_first_byte_, text.size() - pos);
      if (!hit) break;
      pos = static_cast<const char*>(hit) - text.data();
    }
    const auto& candidates = by_first_byte_[static_cast<unsigned char>(text[pos])];
    int64_t found = -1;
    for (uint32_t idx : candidates) {
      const std::string& p = patterns_[idx];
      if (text.size() - pos >= p.size() && text.compare(pos, p.size(), p) == 0) {
        found = idx;  // candidates are longest first: the first hit is the leftmost-longest match
        break;
      }
    }
    if (found < 0) {
      ++pos;
      continue;
    }
    const AddedToken& token = tokens_[found];
    size_t start = pos, stop = pos + patterns_[found].size();
    pos = stop;  // the search resumes after the match even when the match is rejected below
    if (token.single_word) {
      const bool start_ok = start == 0 || !is_word_char(text.substr(previous_char(text, start)));
      const bool stop_ok = stop == text.size() || !is_word_char(text.substr(stop));
      if (!start_ok || !stop_ok) continue;
    }
    if (token.lstrip) {
      size_t s = start;
      while (s > 0) {
        size_t p = previous_char(text, s), q = p;
        if (!is_white_space(utf8::decode(text, q))) break;
        s = p;
      }
      start = std::max(s, start_offset);
    }
    if (token.rstrip) {
      while (stop < text.size()) {
        size_t q = stop;
        if (!is_white_space(utf8::decode(text, q))) break;
        stop = q;
      }
    }
    if (start_offset < start) out.push_back({start_offset, start, -1});
    out.push_back({start, stop, token.id});
    start_offset = stop;
  }
  if (start_offset != text.size()) out.push_back({start_offset, text.size(), -1});
}

}  // namespace tachyon
