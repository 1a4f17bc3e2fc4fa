// Unicode tables of the tokenizer (generated into unicode_data.cpp by scripts/tokenizer/gen_unicode_data.py).
//
// They are calibrated to Hugging Face `tokenizers`, not to the newest Unicode: its NFC knows an older
// Unicode than Python and PCRE2 do, and its regex engine (Oniguruma) a newer one. See the script.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tachyon::unicode_data {

struct CombiningClass {
  char32_t cp;
  uint8_t ccc;
};
struct Decomposition {  // full canonical decomposition: kDecompositionChars[offset, offset + length)
  char32_t cp;
  uint16_t offset;
  uint8_t length;
};
struct Composition {  // primary composite of (first, second)
  char32_t first, second, composite;
};
struct CodeRange {
  char32_t first, last;  // inclusive
};
// Code points that Oniguruma's class `name` ("L", "Lu", ..., "w" for \w, "d" for \d) holds beyond the
// same class in PCRE2 10.42 (Unicode 14).
struct RegexClassExtra {
  const char* name;
  const CodeRange* ranges;
  size_t count;
};

// A run of code points [first, last] whose regex classes differ between Oniguruma and PCRE2 10.42 (their
// general category changed after Unicode 14, and U+180E, which PCRE2's \s takes), and a stand-in code
// point that PCRE2 classifies as Oniguruma classifies them, with the same UTF-8 length.
struct Substitution {
  char32_t first, last, substitute;
};

// All sorted by code point (compositions by (first, second)).
extern const CombiningClass kCombiningClasses[];
extern const size_t kCombiningClassCount;
extern const char32_t kDecompositionChars[];
extern const Decomposition kDecompositions[];
extern const size_t kDecompositionCount;
extern const Composition kCompositions[];
extern const size_t kCompositionCount;
extern const RegexClassExtra kRegexClassExtras[];
extern const size_t kRegexClassExtraCount;
extern const Substitution kRegexSubstitutions[];
extern const size_t kRegexSubstitutionCount;

}  // namespace tachyon::unicode_data
