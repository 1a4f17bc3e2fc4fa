// PCRE2-backed regexes of the tokenizer (see regex.h).
#define PCRE2_CODE_UNIT_WIDTH 8
#include "model/tokenizer/regex.h"

#include <pcre2.h>

#include <algorithm>
#include <cstring>

#include "model/error.h"
#include "model/tokenizer/regex_translate.h"
#include "model/tokenizer/unicode_data.h"
#include "model/tokenizer/utf8.h"

namespace tachyon {
namespace {

// Per-thread matching scratch: one match block (one pair of offsets is all we read) and a JIT stack
// large enough for long runs matched by backtracking patterns.
struct MatchScratch {
  pcre2_match_data* data = nullptr;
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* jit_stack = nullptr;
  MatchScratch() {
    data = pcre2_match_data_create(1, nullptr);
    context = pcre2_match_context_create(nullptr);
    jit_stack = pcre2_jit_stack_create(64 * 1024, 8 * 1024 * 1024, nullptr);
    TACHYON_CHECK(data && context && jit_stack, "PCRE2 scratch allocation failed");
    pcre2_jit_stack_assign(context, nullptr, jit_stack);
  }
  ~MatchScratch() {
    pcre2_jit_stack_free(jit_stack);
    pcre2_match_context_free(context);
    pcre2_match_data_free(data);
  }
};

MatchScratch& scratch() {
  thread_local MatchScratch s;
  return s;
}

// Stand-ins by code point (see regex_translate.h): a bitmap says which code points have one, the
// table says which.
class StandIns {
 public:
  StandIns() : bits_(0x110000 / 64, 0) {
    for (size_t i = 0; i < unicode_data::kRegexSubstitutionCount; ++i) {
      const auto& s = unicode_data::kRegexSubstitutions[i];
      for (char32_t c = s.first; c <= s.last; ++c) bits_[c >> 6] |= uint64_t{1} << (c & 63);
      min_ = std::min(min_, s.first);
    }
  }
  bool has(char32_t c) const { return c >= min_ && ((bits_[c >> 6] >> (c & 63)) & 1); }
  char32_t of(char32_t c) const {
    const auto* begin = unicode_data::kRegexSubstitutions;
    const auto* end = begin + unicode_data::kRegexSubstitutionCount;
    const auto* it = std::upper_bound(begin, end, c, [](char32_t v, const auto& s) { return v < s.first; });
    return std::prev(it)->substitute;
  }

 private:
  std::vector<uint64_t> bits_;
  char32_t min_ = 0x110000;
};

const StandIns& stand_ins() {
  static const StandIns s;
  return s;
}

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof buffer);
  return reinterpret_cast<const char*>(buffer);
}

}  // namespace

struct Regex::Impl {
  std::string pattern;  // as compiled by PCRE2
  pcre2_code* code = nullptr;
  bool jit = false;
  bool use_stand_ins = false;
  ~Impl() { pcre2_code_free(code); }
};

Regex Regex::compile(std::string_view pattern, std::string_view where, bool use_stand_ins) {
  auto impl = std::make_shared<Impl>();
  impl->pattern = std::string(pattern);
  impl->use_stand_ins = use_stand_ins;
  int error = 0;
  PCRE2_SIZE error_offset = 0;
  impl->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(impl->pattern.data()), impl->pattern.size(),
                             PCRE2_UTF | PCRE2_UCP, &error, &error_offset, nullptr);
  TACHYON_REQUIRE(impl->code != nullptr, "{}: regex does not compile (PCRE2: {} at offset {}): {}", where,
                  pcre2_message(error), error_offset, impl->pattern);
  // JIT is an accelerator only: without it (unsupported CPU or build) the interpreter gives the same matches.
  impl->jit = pcre2_jit_compile(impl->code, PCRE2_JIT_COMPLETE) == 0;
  Regex r;
  r.impl_ = std::move(impl);
  return r;
}

Regex Regex::from_pcre2(std::string_view pattern, std::string_view where) { return compile(pattern, where, false); }

Regex Regex::from_onig(std::string_view pattern, std::string_view where) {
  const TranslatedRegex t = translate_onig_to_pcre2(pattern, where);
  return compile(t.pattern, where, t.use_stand_ins);
}

std::string_view Regex::subject_for(std::string_view text, std::string& storage) const {
  if (!impl_->use_stand_ins) return text;
  const StandIns& table = stand_ins();
  size_t i = 0;
  // Most text has no code point with a stand-in: find the first one, if any, skipping ASCII quickly.
  while (i < text.size()) {
    if (static_cast<uint8_t>(text[i]) < 0x80) {
      if (i + 8 <= text.size()) {
        uint64_t w;
        std::memcpy(&w, text.data() + i, 8);
        if (!(w & 0x8080808080808080ull)) {
          i += 8;
          continue;
        }
      }
      ++i;
      continue;
    }
    size_t next = i;
    if (table.has(utf8::decode(text, next))) break;
    i = next;
  }
  if (i >= text.size()) return text;
  storage.assign(text);
  while (i < storage.size()) {
    if (static_cast<uint8_t>(storage[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t next = i;
    const char32_t c = utf8::decode(storage, next);
    if (table.has(c)) {
      std::string replacement;
      utf8::append(replacement, table.of(c));
      TACHYON_CHECK(replacement.size() == next - i, "stand-in of U+{:04X} has another UTF-8 length", uint32_t(c));
      storage.replace(i, replacement.size(), replacement);
    }
    i = next;
  }
  return storage;
}

Regex Regex::literal(std::string_view text, std::string_view where) {
  // Backslash before every ASCII punctuation character makes it literal in PCRE2; letters, digits and
  // non-ASCII characters are literal as they are.
  std::string escaped;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x80 && !std::isalnum(u)) escaped += '\\';
    escaped += c;
  }
  return from_pcre2(escaped, where);
}

const std::string& Regex::pattern() const {
  TACHYON_CHECK(impl_, "pattern() of an empty Regex");
  return impl_->pattern;
}

bool Regex::next_match(std::string_view text, size_t& pos, int64_t& last_end, Match& m) const {
  MatchScratch& s = scratch();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  while (pos <= text.size()) {
    const int rc = impl_->jit ? pcre2_jit_match(impl_->code, subject, text.size(), pos, 0, s.data, s.context)
                              : pcre2_match(impl_->code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK, s.data,
                                            s.context);
    if (rc == PCRE2_ERROR_NOMATCH) return false;
    TACHYON_REQUIRE(rc >= 0, "regex matching failed (PCRE2: {}) for pattern {}", pcre2_message(rc), impl_->pattern);
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(s.data);
    const auto begin = static_cast<uint32_t>(ov[0]), end = static_cast<uint32_t>(ov[1]);
    if (begin == end && static_cast<int64_t>(end) == last_end) {
      // Oniguruma's binding skips an empty match where the last match ended and retries one character on.
      if (pos >= text.size()) return false;
      ++pos;
      while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) ++pos;
      continue;
    }
    pos = end;
    last_end = end;
    m = Match{begin, end};
    return true;
  }
  return false;
}

void Regex::find_all(std::string_view text, std::vector<Match>& out) const {
  for_each_match(text, [&](uint32_t b, uint32_t e) { out.push_back(Match{b, e}); });
}

bool Regex::matches_prefix(std::string_view original) const {
  std::string storage;
  const std::string_view text = subject_for(original, storage);
  MatchScratch& s = scratch();
  const int rc = pcre2_match(impl_->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0,
                             PCRE2_ANCHORED | PCRE2_NO_UTF_CHECK, s.data, s.context);
  return rc >= 0;
}

}  // namespace tachyon
