// Translation of Oniguruma regex syntax (as `tokenizers` compiles it) to an equivalent PCRE2 pattern.
//
// Both are Perl-style backtracking engines, so the patterns of tokenizer.json mean the same in both,
// except for the Unicode tables behind the classes: Oniguruma (in tokenizers 0.23) knows Unicode 16,
// PCRE2 10.42 Unicode 14, and their \s, \w, \d, \h differ. The translation rewrites
//   \p{X} / \P{X}   general categories: PCRE2's class plus the code points Oniguruma adds
//   \s \S           White_Space (Oniguruma's), spelled out (PCRE2's \s adds U+180E)
//   \w \W           Alphabetic | M | Nd | Pc (Oniguruma's), instead of PCRE2's L | N | _
//   \d \D           Nd including Oniguruma's newer digits
//   \h \H           hex digits (Oniguruma), not horizontal space (PCRE2)
// and refuses what PCRE2 cannot express (nested classes, class intersection `&&`). Negated forms inside
// a character class ([\S], [\P{L}]) stay PCRE2's own, which differ only on code points assigned after
// Unicode 14 (and U+180E).
#pragma once

#include <string>
#include <string_view>

namespace tachyon {

// Throws tachyon::Error naming `where` when the pattern uses something that cannot be translated.
std::string translate_onig_to_pcre2(std::string_view pattern, std::string_view where);

// The PCRE2 class body (without brackets) for Oniguruma's \w, used for `single_word` added tokens.
std::string onig_word_class_items();

}  // namespace tachyon
