// Oniguruma -> PCRE2 pattern translation (see regex_translate.h).
#include "model/tokenizer/regex_translate.h"

#include <cctype>
#include <cstring>

#include "model/error.h"
#include "model/tokenizer/unicode_data.h"

namespace tachyon {
namespace {

// Oniguruma's \s: the White_Space property.
constexpr const char* kWhiteSpaceItems =
    "\\x{9}-\\x{D}\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}";
constexpr const char* kHexDigitItems = "0-9A-Fa-f";

const unicode_data::RegexClassExtra* find_extra(std::string_view name) {
  for (size_t i = 0; i < unicode_data::kRegexClassExtraCount; ++i)
    if (name == unicode_data::kRegexClassExtras[i].name) return &unicode_data::kRegexClassExtras[i];
  return nullptr;
}

std::string extra_items(const unicode_data::RegexClassExtra* extra) {
  std::string out;
  if (!extra) return out;
  for (size_t i = 0; i < extra->count; ++i) {
    const auto& r = extra->ranges[i];
    out += r.first == r.last ? fmt::format("\\x{{{:X}}}", static_cast<uint32_t>(r.first))
                             : fmt::format("\\x{{{:X}}}-\\x{{{:X}}}", static_cast<uint32_t>(r.first),
                                           static_cast<uint32_t>(r.last));
  }
  return out;
}

// Class items (no brackets) of a general category as Oniguruma sees it, or "" when we have no table
// for that name (then PCRE2's own class is used).
std::string category_items(std::string_view name) {
  const auto* extra = find_extra(name);
  if (!extra) return "";
  return fmt::format("\\p{{{}}}{}", name, extra_items(extra));
}

// Oniguruma's \\w; inside a bracket class it leaves out a few Latin-1 numbers, hence `in_class`.
std::string word_items(bool in_class = false) {
  return "\\p{L}\\p{Nl}\\p{M}\\p{Nd}\\p{Pc}" + extra_items(find_extra("L")) + extra_items(find_extra("M")) +
         extra_items(find_extra("Nd")) + extra_items(find_extra(in_class ? "wc" : "w"));
}

std::string digit_items() { return "\\p{Nd}" + extra_items(find_extra("d")); }

// Length in bytes of the UTF-8 sequence starting with byte b (1 for stray continuation bytes).
size_t utf8_length(unsigned char b) { return b < 0xC0 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4; }

// General category names (short and long) that PCRE2 and Oniguruma both know. A pattern using only
// these, and ASCII literals, can run on stand-ins.
bool is_general_category(std::string_view name) {
  static const char* const kNames[] = {
      "L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl", "No", "P", "Pc", "Pd", "Ps", "Pe",
      "Pi", "Pf", "Po", "S", "Sm", "Sc", "Sk", "So", "Z", "Zs", "Zl", "Zp", "C", "Cc", "Cf", "Co", "Cn", "Cs",
      "Letter", "Mark", "Number", "Punctuation", "Symbol", "Separator", "Other"};
  for (const char* n : kNames)
    if (name == n) return true;
  return false;
}

uint32_t hex_value(char c) {
  return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

// True when nothing in the pattern depends on which code point a non-ASCII character is beyond its
// general category: no non-ASCII literal, no \x escape above 0x7F, no property but a general category.
bool allows_stand_ins(std::string_view p) {
  for (size_t i = 0; i < p.size(); ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    if (c >= 0x80) return false;
    if (c != '\\' || i + 1 >= p.size()) continue;
    const char e = p[i + 1];
    if (e == 'p' || e == 'P') {
      std::string_view name;
      if (i + 2 < p.size() && p[i + 2] == '{') {
        const size_t close = p.find('}', i + 3);
        if (close == std::string_view::npos) return false;
        name = p.substr(i + 3, close - i - 3);
      } else if (i + 2 < p.size()) {
        name = p.substr(i + 2, 1);
      }
      if (!name.empty() && name[0] == '^') name.remove_prefix(1);
      if (!is_general_category(name)) return false;
    } else if (e == 'x') {
      uint32_t value = 0;
      size_t k = i + 2;
      if (k < p.size() && p[k] == '{') {
        for (++k; k < p.size() && std::isxdigit(static_cast<unsigned char>(p[k])); ++k)
          value = value * 16 + hex_value(p[k]);
      } else {
        for (int n = 0; n < 2 && k < p.size() && std::isxdigit(static_cast<unsigned char>(p[k])); ++n, ++k)
          value = value * 16 + hex_value(p[k]);
      }
      if (value >= 0x80) return false;
    } else if (e == 'N' || e == 'o' || e == 'u' || e == 'X' || (e >= '0' && e <= '9')) {
      return false;  // named, octal, \u, extended grapheme or back/octal references: play safe
    }
    ++i;  // skip the escaped character
  }
  return true;
}

}  // namespace

std::string onig_word_class_items() { return word_items(); }

TranslatedRegex translate_onig_to_pcre2(std::string_view p, std::string_view where) {
  TranslatedRegex result;
  result.use_stand_ins = allows_stand_ins(p);
  const bool stand_ins = result.use_stand_ins;
  std::string out;
  out.reserve(p.size() * 2);
  int class_depth = 0;
  // Emits `items` as a class of its own outside brackets, or inline inside a class. `negated` outside a
  // class becomes [^...]; inside a class a negated item cannot be spelled out, so `native` is kept.
  auto emit = [&](const std::string& items, bool negated, std::string_view native) {
    if (items.empty()) {
      out += native;
    } else if (class_depth == 0) {
      out += negated ? "[^" : "[";
      out += items;
      out += ']';
    } else if (!negated) {
      out += items;
    } else {
      out += native;
    }
  };
  size_t i = 0;
  while (i < p.size()) {
    const char c = p[i];
    if (c == '\\') {
      TACHYON_REQUIRE(i + 1 < p.size(), "{}: regex ends with a lone backslash: {}", where, p);
      const char e = p[i + 1];
      const std::string_view two = p.substr(i, 2);
      switch (e) {
        case 'p':
        case 'P': {
          std::string_view name;
          size_t end;
          if (i + 2 < p.size() && p[i + 2] == '{') {
            const size_t close = p.find('}', i + 3);
            TACHYON_REQUIRE(close != std::string_view::npos, "{}: unterminated \\p{{ in regex: {}", where, p);
            name = p.substr(i + 3, close - i - 3);
            end = close + 1;
          } else {
            TACHYON_REQUIRE(i + 2 < p.size(), "{}: regex ends inside \\p: {}", where, p);
            name = p.substr(i + 2, 1);
            end = i + 3;
          }
          bool negated = e == 'P';
          if (!name.empty() && name[0] == '^') {
            negated = !negated;
            name.remove_prefix(1);
          }
          // With stand-ins PCRE2's own category is right; otherwise add Oniguruma's extra code points.
          emit(stand_ins ? std::string() : category_items(name), negated, p.substr(i, end - i));
          i = end;
          continue;
        }
        case 's':
        case 'S':
          // PCRE2's \s is White_Space plus U+180E, which has a stand-in outside \s.
          emit(stand_ins ? std::string() : std::string(kWhiteSpaceItems), e == 'S', two);
          break;
        case 'w':
        case 'W':
          emit(word_items(class_depth > 0), e == 'W', two);
          break;
        case 'b':
        case 'B':
          if (class_depth > 0) {  // [\b] is a backspace in both
            out += two;
            break;
          }
          {
            // A word boundary by Oniguruma's \w, not PCRE2's: a word character on exactly one side.
            const std::string w = fmt::format("[{}]", word_items());
            out += e == 'b' ? fmt::format("(?:(?<={0})(?!{0})|(?<!{0})(?={0}))", w)
                            : fmt::format("(?:(?<={0})(?={0})|(?<!{0})(?!{0}))", w);
          }
          break;
        case 'd':
        case 'D':
          emit(stand_ins ? std::string() : digit_items(), e == 'D', two);  // PCRE2's \d with UCP is \p{Nd}
          break;
        case 'h':
        case 'H':
          TACHYON_REQUIRE(class_depth == 0 || e == 'h', "{}: \\H inside a character class is not supported: {}",
                          where, p);
          emit(kHexDigitItems, e == 'H', "");
          break;
        default: {
          // Any other escape (\x{..}, \n, \., \b, ...) means the same in both engines; copy it whole,
          // including a multi-byte escaped character.
          const size_t n = 1 + utf8_length(static_cast<unsigned char>(e));
          out += p.substr(i, n);
          i += n;
          continue;
        }
      }
      i += 2;
      continue;
    }
    if (c == '[') {
      if (class_depth > 0 && i + 1 < p.size() && p[i + 1] == ':') {  // POSIX bracket [:alpha:]
        const size_t close = p.find(":]", i + 2);
        TACHYON_REQUIRE(close != std::string_view::npos, "{}: unterminated [: in regex: {}", where, p);
        out += p.substr(i, close + 2 - i);
        i = close + 2;
        continue;
      }
      TACHYON_REQUIRE(class_depth == 0, "{}: nested character classes are not supported (PCRE2 has none): {}",
                      where, p);
      ++class_depth;
      out += '[';
      ++i;
      if (i < p.size() && p[i] == '^') out += p[i++];
      if (i < p.size() && p[i] == ']') out += "\\]", ++i;  // a leading ] is a literal
      continue;
    }
    if (c == ']' && class_depth > 0) {
      --class_depth;
      out += ']';
      ++i;
      continue;
    }
    if ((c == '^' || c == '$') && class_depth == 0) {
      // Oniguruma's ^ and $ are line anchors (Ruby semantics); PCRE2's need multiline mode for that.
      out += c == '^' ? "(?m:^)" : "(?m:$)";
      ++i;
      continue;
    }
    if (c == '&' && class_depth > 0 && i + 1 < p.size() && p[i + 1] == '&')
      TACHYON_REQUIRE(false, "{}: character class intersection (&&) is not supported: {}", where, p);
    out += c;
    ++i;
  }
  TACHYON_REQUIRE(class_depth == 0, "{}: unterminated character class in regex: {}", where, p);
  result.pattern = std::move(out);
  return result;
}

}  // namespace tachyon
