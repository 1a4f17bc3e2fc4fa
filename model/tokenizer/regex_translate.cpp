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

std::string word_items() {
  return "\\p{L}\\p{Nl}\\p{M}\\p{Nd}\\p{Pc}" + extra_items(find_extra("L")) + extra_items(find_extra("M")) +
         extra_items(find_extra("Nd")) + extra_items(find_extra("w"));
}

std::string digit_items() { return "\\p{Nd}" + extra_items(find_extra("d")); }

// Length in bytes of the UTF-8 sequence starting with byte b (1 for stray continuation bytes).
size_t utf8_length(unsigned char b) { return b < 0xC0 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4; }

}  // namespace

std::string onig_word_class_items() { return word_items(); }

std::string translate_onig_to_pcre2(std::string_view p, std::string_view where) {
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
          emit(category_items(name), negated, p.substr(i, end - i));
          i = end;
          continue;
        }
        case 's':
        case 'S':
          emit(kWhiteSpaceItems, e == 'S', two);
          break;
        case 'w':
        case 'W':
          emit(word_items(), e == 'W', two);
          break;
        case 'd':
        case 'D':
          emit(digit_items(), e == 'D', two);
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
    if (c == '&' && class_depth > 0 && i + 1 < p.size() && p[i + 1] == '&')
      TACHYON_REQUIRE(false, "{}: character class intersection (&&) is not supported: {}", where, p);
    out += c;
    ++i;
  }
  TACHYON_REQUIRE(class_depth == 0, "{}: unterminated character class in regex: {}", where, p);
  return out;
}

}  // namespace tachyon
