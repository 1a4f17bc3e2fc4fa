// The pre-tokenizer stage: splits normalized text into the words that BPE encodes one by one.
//
// Supported (tokenizer.json "pre_tokenizer"): Split (Regex or String pattern, every behavior, invert),
// ByteLevel (add_prefix_space, use_regex with the GPT-2 pattern), and Sequence of those, with exactly
// one ByteLevel, last. The byte-level mapping itself is implicit: words come out as raw bytes, and the
// BPE model works on bytes.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "model/tokenizer/regex.h"

namespace tachyon {

enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

class PreTokenizer {
 public:
  // From the tokenizer.json "pre_tokenizer" value. Throws naming what is unsupported.
  static PreTokenizer from_json(const nlohmann::json& j);

  // Calls emit(word) for each non-empty word of `text` (valid UTF-8), in order. A word may view a
  // temporary (after add_prefix_space); it is valid only during the call.
  template <class Emit>
  void split(std::string_view text, Emit&& emit) const {
    if (fast_isolated_) {
      split_isolated(steps_[0].regex, text, emit);
    } else {
      run(0, text, std::function<void(std::string_view)>(std::ref(emit)));
    }
  }

 private:
  struct SplitStep {
    Regex regex;
    SplitBehavior behavior = SplitBehavior::kIsolated;
    bool invert = false;
  };

  // Every match and every gap between matches is a word: the one configuration of the supported families
  // (a single Split, Isolated, then ByteLevel without prefix space or regex), without building lists.
  template <class Emit>
  static void split_isolated(const Regex& regex, std::string_view text, Emit& emit) {
    size_t prev = 0;
    regex.for_each_match(text, [&](uint32_t begin, uint32_t end) {
      if (begin > prev) emit(text.substr(prev, begin - prev));
      if (end > begin) emit(text.substr(begin, end - begin));
      prev = end;
    });
    if (prev < text.size()) emit(text.substr(prev));
  }

  void run(size_t step, std::string_view text, const std::function<void(std::string_view)>& emit) const;

  std::vector<SplitStep> steps_;  // the Split steps, in order
  bool add_prefix_space_ = false;
  bool use_byte_level_regex_ = false;
  Regex byte_level_regex_;  // the GPT-2 pattern, when use_regex
  bool fast_isolated_ = false;
};

}  // namespace tachyon
