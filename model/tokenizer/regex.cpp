// PCRE2-backed regexes of the tokenizer (see regex.h).
#define PCRE2_CODE_UNIT_WIDTH 8
#include "model/tokenizer/regex.h"

#include <pcre2.h>

#include "model/error.h"
#include "model/tokenizer/regex_translate.h"

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
  ~Impl() { pcre2_code_free(code); }
};

Regex Regex::from_pcre2(std::string_view pattern, std::string_view where) {
  auto impl = std::make_shared<Impl>();
  impl->pattern = std::string(pattern);
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

Regex Regex::from_onig(std::string_view pattern, std::string_view where) {
  return from_pcre2(translate_onig_to_pcre2(pattern, where), where);
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

bool Regex::matches_prefix(std::string_view text) const {
  MatchScratch& s = scratch();
  const int rc = pcre2_match(impl_->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0,
                             PCRE2_ANCHORED | PCRE2_NO_UTF_CHECK, s.data, s.context);
  return rc >= 0;
}

}  // namespace tachyon
