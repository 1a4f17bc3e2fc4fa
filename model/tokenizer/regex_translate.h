// Translation of Oniguruma regex syntax (as `tokenizers` compiles it) to an equivalent PCRE2 pattern.
//
// Both are Perl-style backtracking engines, so the patterns of tokenizer.json mean the same in both,
// except for the Unicode tables behind the classes: Oniguruma (in tokenizers 0.23) knows Unicode 16,
// PCRE2 10.42 Unicode 14, and their \s, \w, \d, \h differ. Two ways to close the gap:
//
// - Stand-ins (fast, used whenever the pattern allows): the pattern keeps PCRE2's own classes, and the
//   text is matched with each code point whose category changed after Unicode 14 replaced by a stand-in
//   of the same UTF-8 length that PCRE2 classifies as Oniguruma classifies the original (see
//   unicode_data.h); the match offsets are those of the original text. Allowed when the pattern names
//   only general categories and ASCII literals, which is the case for every supported family.
// - Extra ranges (otherwise): every \p{X}, \d, \w gets the code points Oniguruma adds to PCRE2's class.
//   Slower: PCRE2's JIT tests the ranges one by one even for ASCII text.
//
// Either way: \s is White_Space; \w is Oniguruma's (Alphabetic | M | Nd | Pc), not PCRE2's (L | N | _),
// and so are the word boundaries \b and \B;
// \h is a hex digit (Oniguruma), not horizontal space (PCRE2); ^ and $ are line anchors (Oniguruma's
// Ruby semantics), so they become PCRE2's multiline ones. Nested classes and class intersection
// (&&) are refused: PCRE2 has neither. Negated forms inside a class ([\W], [\P{L}]) stay PCRE2's own.
// Known differences left: POSIX brackets ([[:alpha:]] is \p{L} in PCRE2, Alphabetic in Oniguruma) and
// properties other than general categories (\p{Han}, ...) keep PCRE2's Unicode 14 meaning.
#pragma once

#include <string>
#include <string_view>

namespace tachyon {

struct TranslatedRegex {
  std::string pattern;     // for PCRE2 (UTF, UCP)
  bool use_stand_ins = false;  // match on the text with stand-ins substituted
};

// Throws tachyon::Error naming `where` when the pattern uses something that cannot be translated.
TranslatedRegex translate_onig_to_pcre2(std::string_view pattern, std::string_view where);

// The PCRE2 class body (without brackets) for Oniguruma's \w, used for `single_word` added tokens.
std::string onig_word_class_items();

}  // namespace tachyon
