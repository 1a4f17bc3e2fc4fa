// Pre-tokenizer stage (see pre_tokenizer.h). Mirrors `tokenizers`: a Split turns the regex matches into
// (range, is_match) pieces covering the text, then folds them according to its behavior.
#include "model/tokenizer/pre_tokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "model/error.h"

namespace tachyon {
namespace {

// The pattern of the ByteLevel pre-tokenizer when use_regex is true (GPT-2's, as in `tokenizers`).
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

SplitBehavior parse_behavior(const nlohmann::json& j, const std::string& where) {
  TACHYON_REQUIRE(j.is_string(), "tokenizer.json: {}.behavior must be a string", where);
  const std::string b = j.get<std::string>();
  if (b == "Removed") return SplitBehavior::kRemoved;
  if (b == "Isolated") return SplitBehavior::kIsolated;
  if (b == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (b == "Contiguous") return SplitBehavior::kContiguous;
  TACHYON_REQUIRE(false, "tokenizer.json: unsupported Split behavior \"{}\" at {}", b, where);
  return SplitBehavior::kIsolated;
}

bool flag(const nlohmann::json& j, const char* key, bool fallback) {
  return j.contains(key) && j[key].is_boolean() ? j[key].get<bool>() : fallback;
}

// A piece of the text: [begin, end) and whether the pattern matched it.
struct Piece {
  size_t begin, end;
  bool match;
};

// The folding of `tokenizers`' NormalizedString::split, on pieces that cover the text in order.
std::vector<Piece> fold(const std::vector<Piece>& pieces, SplitBehavior behavior) {
  std::vector<Piece> out;
  out.reserve(pieces.size());
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (const Piece& p : pieces) out.push_back({p.begin, p.end, false});
      break;
    case SplitBehavior::kRemoved:
      out = pieces;  // matched pieces are dropped by the caller
      break;
    case SplitBehavior::kContiguous: {
      bool previous = false;
      for (const Piece& p : pieces) {
        if (p.match == previous && !out.empty()) out.back().end = p.end;
        else out.push_back({p.begin, p.end, false});
        previous = p.match;
      }
      break;
    }
    case SplitBehavior::kMergedWithPrevious: {
      bool previous = false;
      for (const Piece& p : pieces) {
        if (p.match && !previous && !out.empty()) out.back().end = p.end;
        else out.push_back({p.begin, p.end, false});
        previous = p.match;
      }
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      bool previous = false;
      for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) {
        if (it->match && !previous && !out.empty()) out.back().begin = it->begin;
        else out.push_back({it->begin, it->end, false});
        previous = it->match;
      }
      std::reverse(out.begin(), out.end());
      break;
    }
  }
  return out;
}

}  // namespace

PreTokenizer PreTokenizer::from_json(const nlohmann::json& j) {
  PreTokenizer pt;
  TACHYON_REQUIRE(!j.is_null(),
                  "tokenizer.json: no pre_tokenizer; only byte-level BPE (a ByteLevel pre-tokenizer) is supported");
  std::vector<std::pair<const nlohmann::json*, std::string>> steps;
  auto type_of = [](const nlohmann::json& s, const std::string& where) {
    TACHYON_REQUIRE(s.is_object() && s.contains("type") && s["type"].is_string(),
                    "tokenizer.json: {} must be an object with a \"type\"", where);
    return s["type"].get<std::string>();
  };
  if (type_of(j, "pre_tokenizer") == "Sequence") {
    TACHYON_REQUIRE(j.contains("pretokenizers") && j["pretokenizers"].is_array(),
                    "tokenizer.json: pre_tokenizer (Sequence) has no \"pretokenizers\" list");
    size_t k = 0;
    for (const auto& s : j["pretokenizers"]) steps.emplace_back(&s, fmt::format("pre_tokenizer.pretokenizers[{}]", k++));
  } else {
    steps.emplace_back(&j, "pre_tokenizer");
  }
  bool have_byte_level = false;
  for (const auto& [s, where] : steps) {
    const std::string type = type_of(*s, where);
    TACHYON_REQUIRE(!have_byte_level,
                    "tokenizer.json: {} ({}) comes after the ByteLevel pre-tokenizer; only ByteLevel as the last "
                    "step is supported",
                    where, type);
    if (type == "Split") {
      SplitStep step;
      TACHYON_REQUIRE(s->contains("pattern") && (*s)["pattern"].is_object(), "tokenizer.json: {} has no pattern", where);
      const auto& pattern = (*s)["pattern"];
      if (pattern.contains("Regex") && pattern["Regex"].is_string()) {
        step.regex = Regex::from_onig(pattern["Regex"].get<std::string>(), where + ".pattern.Regex");
      } else if (pattern.contains("String") && pattern["String"].is_string()) {
        step.regex = Regex::literal(pattern["String"].get<std::string>(), where + ".pattern.String");
      } else {
        TACHYON_REQUIRE(false, "tokenizer.json: {}.pattern must hold a \"Regex\" or a \"String\"", where);
      }
      TACHYON_REQUIRE(s->contains("behavior"), "tokenizer.json: {} has no behavior", where);
      step.behavior = parse_behavior((*s)["behavior"], where);
      step.invert = flag(*s, "invert", false);
      pt.steps_.push_back(std::move(step));
    } else if (type == "ByteLevel") {
      have_byte_level = true;
      pt.add_prefix_space_ = flag(*s, "add_prefix_space", true);
      pt.use_byte_level_regex_ = flag(*s, "use_regex", true);
      if (pt.use_byte_level_regex_) pt.byte_level_regex_ = Regex::from_onig(kGpt2Pattern, where + " (GPT-2 pattern)");
    } else {
      TACHYON_REQUIRE(false,
                      "tokenizer.json: unsupported pre-tokenizer \"{}\" at {} (supported: Split, ByteLevel, Sequence)",
                      type, where);
    }
  }
  TACHYON_REQUIRE(have_byte_level,
                  "tokenizer.json: the pre_tokenizer has no ByteLevel step; only byte-level BPE is supported");
  pt.fast_isolated_ = pt.steps_.size() == 1 && pt.steps_[0].behavior == SplitBehavior::kIsolated &&
                      !pt.steps_[0].invert && !pt.add_prefix_space_ && !pt.use_byte_level_regex_;
  return pt;
}

void PreTokenizer::run(size_t step, std::string_view text, const std::function<void(std::string_view)>& emit) const {
  if (text.empty()) return;
  if (step == steps_.size()) {
    // The ByteLevel step: optional prefix space, optional GPT-2 split; the byte mapping is implicit.
    std::string prefixed;
    if (add_prefix_space_ && text.front() != ' ') {
      prefixed.reserve(text.size() + 1);
      prefixed += ' ';
      prefixed += text;
      text = prefixed;
    }
    if (use_byte_level_regex_) split_isolated(byte_level_regex_, text, emit);
    else emit(text);
    return;
  }
  const SplitStep& s = steps_[step];
  std::vector<Piece> pieces;
  size_t prev = 0;
  s.regex.for_each_match(text, [&](uint32_t begin, uint32_t end) {
    if (begin != prev) pieces.push_back({prev, begin, s.invert});
    pieces.push_back({begin, end, !s.invert});
    prev = end;
  });
  if (prev != text.size()) pieces.push_back({prev, text.size(), s.invert});
  for (const Piece& p : fold(pieces, s.behavior)) {
    if (s.behavior == SplitBehavior::kRemoved && p.match) continue;
    if (p.end > p.begin) run(step + 1, text.substr(p.begin, p.end - p.begin), emit);
  }
}

}  // namespace tachyon
