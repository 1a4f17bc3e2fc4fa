// Regular expressions of the tokenizer: PCRE2 (8-bit, UTF + UCP, JIT when available) running the
// Oniguruma-syntax patterns of tokenizer.json with Oniguruma's Unicode classes (see regex_translate.h).
//
// A Regex is immutable and shared; matching uses per-thread scratch, so concurrent const calls are safe.
// PCRE2's header stays out of this one on purpose: only regex.cpp sees it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tachyon {

struct Match {
  uint32_t begin, end;  // byte offsets, half-open
};

class Regex {
 public:
  Regex() = default;
  // Compiles a pattern in Oniguruma syntax as `tokenizers` would (translated to PCRE2 first). `where`
  // names the tokenizer.json field for error messages.
  static Regex from_onig(std::string_view pattern, std::string_view where);
  // Compiles a pattern that PCRE2 takes as it is (internal classes).
  static Regex from_pcre2(std::string_view pattern, std::string_view where);
  // A pattern that matches `text` literally (Split's String patterns).
  static Regex literal(std::string_view text, std::string_view where);

  // All matches in `text` (valid UTF-8), left to right, with the Oniguruma binding's rule for empty
  // matches (an empty match right where the previous match ended is skipped). Appends to `out`.
  void find_all(std::string_view text, std::vector<Match>& out) const;
  // Calls fn(begin, end) for each match, as find_all, without building a vector.
  template <class Fn>
  void for_each_match(std::string_view text, Fn&& fn) const {
    std::string stand_ins;
    const std::string_view subject = subject_for(text, stand_ins);
    size_t pos = 0;
    int64_t last_end = -1;
    Match m;
    while (pos <= subject.size() && next_match(subject, pos, last_end, m)) fn(m.begin, m.end);
  }
  // True when the pattern matches at offset 0 of `text` (used for one-code-point class tests).
  bool matches_prefix(std::string_view text) const;

  const std::string& pattern() const;
  bool valid() const { return impl_ != nullptr; }

 private:
  struct Impl;
  static Regex compile(std::string_view pattern, std::string_view where, bool use_stand_ins);
  // The text to match: `text` itself, or (when the pattern runs on stand-ins and `text` holds a code point
  // that has one) a copy in `storage` with the stand-ins in place; same length, same offsets.
  std::string_view subject_for(std::string_view text, std::string& storage) const;
  // Finds the next match at or after `pos`, updating pos/last_end with the empty-match rule.
  bool next_match(std::string_view text, size_t& pos, int64_t& last_end, Match& m) const;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace tachyon
