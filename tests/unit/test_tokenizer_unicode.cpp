// The Unicode machinery under the tokenizer: lossy UTF-8 decoding as Rust's from_utf8_lossy, strict
// validation, NFC/NFD, the byte-level alphabet, and the Oniguruma -> PCRE2 regex translation checked
// code point by code point against Oniguruma's own class sets (tests/fixtures/tokenizer/onig_classes.json,
// written by scripts/tokenizer/gen_unicode_data.py from `tokenizers`).
#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "model/error.h"
#include "model/tokenizer/byte_level.h"
#include "model/tokenizer/regex.h"
#include "model/tokenizer/regex_translate.h"
#include "model/tokenizer/unicode_normalize.h"
#include "model/tokenizer/utf8.h"
#include "test_util.h"

using namespace tachyon;

namespace {

std::string lossy(std::string_view bytes) {
  std::string out;
  utf8::append_lossy(out, bytes, true);
  return out;
}

const std::string kFffd = "\xEF\xBF\xBD";

// Ranges [first, last] of the code points matched by `pattern` (runs of single-code-point matches).
std::vector<std::pair<uint32_t, uint32_t>> matched_ranges(const Regex& re, const std::string& text,
                                                          const std::vector<uint32_t>& offsets,
                                                          const std::vector<uint32_t>& cps) {
  std::vector<std::pair<uint32_t, uint32_t>> out;
  re.for_each_match(text, [&](uint32_t b, uint32_t e) {
    const size_t i = std::lower_bound(offsets.begin(), offsets.end(), b) - offsets.begin();
    const size_t j = std::lower_bound(offsets.begin(), offsets.end(), e) - offsets.begin();  // one past
    REQUIRE(j > i);
    const uint32_t first = cps[i], last = cps[j - 1];
    if (!out.empty() && out.back().second + 1 == first) out.back().second = last;
    else out.emplace_back(first, last);
  });
  return out;
}

}  // namespace

TEST_CASE("tokenizer utf8: lossy decoding replaces each maximal ill-formed subpart, like from_utf8_lossy") {
  CHECK(lossy("plain ascii") == "plain ascii");
  CHECK(lossy("caf\xC3\xA9") == "café");
  CHECK(lossy("\xF0\x9F\x9A\x80") == "🚀");
  CHECK(lossy("\xF0\x90\x80" "A") == kFffd + "A");        // truncated 4-byte sequence: one U+FFFD
  CHECK(lossy("\xE0\x80\xAF") == kFffd + kFffd + kFffd);  // overlong: each byte on its own
  CHECK(lossy("\xED\xA0\x80") == kFffd + kFffd + kFffd);  // surrogate
  CHECK(lossy("\xF4\x90\x80\x80") == kFffd + kFffd + kFffd + kFffd);  // above U+10FFFF
  CHECK(lossy("\xC0\xAF") == kFffd + kFffd);
  CHECK(lossy("\x80\xBF") == kFffd + kFffd);
  CHECK(lossy("a\xE2\x82") == "a" + kFffd);  // incomplete at the end
  CHECK(lossy("\xE2\x82\xE2\x82\xAC") == kFffd + "€");
  CHECK(lossy(std::string("\x00x", 2)) == std::string("\x00x", 2));

  // Streaming: an incomplete tail that may still complete is held back, never emitted or replaced.
  std::string out;
  CHECK(utf8::append_lossy(out, "ab\xE2\x82", false) == 2);
  CHECK(out == "ab");
  out.clear();
  CHECK(utf8::append_lossy(out, "\xE2\x28", false) == 2);  // cannot complete: replaced at once
  CHECK(out == kFffd + "(");
}

TEST_CASE("tokenizer utf8: strict validation names the offset and the bytes") {
  CHECK(utf8::find_invalid("hello, 世界 🚀") == utf8::kValid);
  CHECK(utf8::find_invalid("abc\xFFxyz") == 3);
  CHECK(utf8::find_invalid("abcdefghij\xED\xA0\x80") == 10);  // a surrogate is not valid UTF-8
  CHECK(utf8::find_invalid("\xC3") == 0);
  try {
    utf8::require_valid("ok\xC3(", "text to encode");
    FAIL("expected an error");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("text to encode is not valid UTF-8") != std::string::npos);
    CHECK(msg.find("byte offset 2") != std::string::npos);
    CHECK(msg.find("C3 28") != std::string::npos);
  }
}

TEST_CASE("tokenizer unicode: NFC and NFD") {
  CHECK(to_nfc("e\xCC\x81") == "é");                             // e + acute -> é
  CHECK(to_nfd("é") == "e\xCC\x81");
  CHECK(to_nfc("\xE2\x84\xAB") == "Å");                          // ANGSTROM SIGN -> Å (singleton)
  CHECK(to_nfc("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8") == "각");  // conjoining jamo -> syllable
  CHECK(to_nfd("각") == "\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8");
  CHECK(to_nfc("d\xCC\x87\xCC\xA3") == "\xE1\xB8\x8D\xCC\x87");   // marks reordered (dot below first), then composed
  CHECK(to_nfc("ﬁ") == "ﬁ");                                     // compatibility mappings are not NFC's business
  CHECK(nfc_quick_check("plain ASCII and café and 中文"));
  CHECK_FALSE(nfc_quick_check("cafe\xCC\x81"));
  CHECK_FALSE(nfc_quick_check("\xE2\x84\xAB"));
}

TEST_CASE("tokenizer byte level: the GPT-2 alphabet round-trips every byte") {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  const std::string spelled = byte_level::encode_bytes(all);
  CHECK(byte_level::decode_token(spelled) == all);
  CHECK(byte_level::encode_bytes(" the") == "Ġthe");
  CHECK(byte_level::encode_bytes("\n") == "Ċ");
  CHECK(byte_level::decode_token("<|im_end|>") == "<|im_end|>");
  CHECK_FALSE(byte_level::decode_token("a b").has_value());  // a literal space is outside the alphabet
  CHECK_FALSE(byte_level::decode_token("中").has_value());
}

TEST_CASE("tokenizer regex: translated classes equal Oniguruma's on every code point") {
  const auto fixture = nlohmann::json::parse(test::read_file(test::fixture("tokenizer/onig_classes.json")));
  std::string text;
  std::vector<uint32_t> offsets, cps;
  for (uint32_t c = 1; c < 0x110000; ++c) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    offsets.push_back(static_cast<uint32_t>(text.size()));
    cps.push_back(c);
    utf8::append(text, c);
  }
  offsets.push_back(static_cast<uint32_t>(text.size()));
  for (const auto& [name, ranges] : fixture["classes"].items()) {
    CAPTURE(name);
    const std::string onig = name.size() == 1 && std::islower(static_cast<unsigned char>(name[0]))
                                 ? "\\" + name
                                 : "\\p{" + name + "}";
    std::vector<std::pair<uint32_t, uint32_t>> want;
    for (const auto& r : ranges) want.emplace_back(r[0].get<uint32_t>(), r[1].get<uint32_t>());
    // With stand-ins (the pattern names only general categories and ASCII)...
    const Regex re = Regex::from_onig("(?:" + onig + ")+", "test");
    CHECK(matched_ranges(re, text, offsets, cps) == want);
    // ... and with extra ranges (a literal above ASCII rules stand-ins out; U+10FFFF is in no class).
    const Regex ranged = Regex::from_onig("(?:" + onig + "|\\x{10FFFF})+", "test");
    auto with_max = want;
    with_max.emplace_back(0x10FFFF, 0x10FFFF);
    CHECK(matched_ranges(ranged, text, offsets, cps) == with_max);
    // The same class inside brackets, with something else beside it. (Not \w: inside brackets
    // Oniguruma's leaves out ¹²³¼½¾, which regex_cases.json checks.)
    if (name == "w") continue;
    const Regex in_class = Regex::from_onig("[" + onig + "\\x{1}]+", "test");
    auto with_one = want;
    if (with_one.front().first == 2) with_one.front().first = 1;
    else if (with_one.front().first != 1) with_one.insert(with_one.begin(), {1, 1});
    CHECK(matched_ranges(in_class, text, offsets, cps) == with_one);
  }
}

TEST_CASE("tokenizer regex: translation details and refusals") {
  // \s is White_Space: PCRE2's own \s would also take U+180E.
  CHECK_FALSE(Regex::from_onig("\\s", "t").matches_prefix("\xE1\xA0\x8E"));
  CHECK(Regex::from_onig("\\s", "t").matches_prefix("\xE3\x80\x80"));  // ideographic space
  CHECK(Regex::from_onig("\\S", "t").matches_prefix("\xE1\xA0\x8E"));
  // \h is a hex digit in Oniguruma.
  CHECK(Regex::from_onig("\\h", "t").matches_prefix("f"));
  CHECK_FALSE(Regex::from_onig("\\h", "t").matches_prefix(" "));
  // Case-insensitive contractions as in the Llama 3 / Qwen patterns, long s included.
  const Regex contractions = Regex::from_onig("(?i:'s|'t|'re|'ve|'m|'ll|'d)", "t");
  CHECK(contractions.matches_prefix("'S"));
  CHECK(contractions.matches_prefix("'LL"));
  CHECK(contractions.matches_prefix("'\xC5\xBF"));  // 'ſ folds to 's
  CHECK_THROWS_WITH_AS(Regex::from_onig("[a-z&&[^aeiou]]", "pre_tokenizer.pattern.Regex"),
                       doctest::Contains("pre_tokenizer.pattern.Regex"), Error);
  CHECK_THROWS_AS(Regex::from_onig("[a[bc]]", "t"), Error);
  CHECK_THROWS_WITH_AS(Regex::from_onig("(unclosed", "model regex"), doctest::Contains("does not compile"), Error);
  // Empty matches follow the Oniguruma binding: none right where the previous match ended.
  std::vector<Match> m;
  Regex::from_onig("a*", "t").find_all("baab", m);
  REQUIRE(m.size() == 3);
  CHECK((m[0].begin == 0 && m[0].end == 0));
  CHECK((m[1].begin == 1 && m[1].end == 3));
  CHECK((m[2].begin == 4 && m[2].end == 4));
  m.clear();
  Regex::literal("a.b", "t").find_all("a.b axb", m);
  CHECK(m.size() == 1);
}

TEST_CASE("tokenizer regex: matches equal Oniguruma's on assorted patterns and texts") {
  // Written by scripts/tokenizer/make_fixtures.py from `tokenizers`' Split: anchors, \b, \s, \w, \h, (?i),
  // lookahead, empty matches, literals above ASCII (extra-range mode), Unicode 16 letters (stand-ins).
  // Known differences (regex_translate.h): POSIX brackets and script properties keep PCRE2's meaning.
  const std::set<std::string> known_gaps = {"[[:alpha:]]+", "\\p{Han}+"};
  const auto fixture = nlohmann::json::parse(test::read_file(test::fixture("tokenizer/regex_cases.json")));
  size_t same = 0, total = 0, gaps = 0;
  for (const auto& c : fixture["cases"]) {
    const std::string pattern = c["pattern"].get<std::string>(), text = c["text"].get<std::string>();
    CAPTURE(pattern);
    CAPTURE(text);
    if (known_gaps.count(pattern)) {
      ++gaps;
      continue;
    }
    const Regex re = Regex::from_onig(pattern, "test");
    std::vector<Match> matches;
    re.find_all(text, matches);
    std::vector<std::vector<uint32_t>> non_empty, isolated;
    uint32_t prev = 0;
    for (const Match& m : matches) {
      if (m.end > m.begin) non_empty.push_back({m.begin, m.end});
      if (m.begin > prev) isolated.push_back({prev, m.begin});
      if (m.end > m.begin) isolated.push_back({m.begin, m.end});
      prev = m.end;
    }
    if (prev < text.size()) isolated.push_back({prev, static_cast<uint32_t>(text.size())});
    const bool ok = non_empty == c["matches"].get<std::vector<std::vector<uint32_t>>>() &&
                    isolated == c["isolated"].get<std::vector<std::vector<uint32_t>>>();
    CHECK(non_empty == c["matches"].get<std::vector<std::vector<uint32_t>>>());
    CHECK(isolated == c["isolated"].get<std::vector<std::vector<uint32_t>>>());
    same += ok;
    ++total;
  }
  MESSAGE(same << "/" << total << " pattern/text cases match Oniguruma (" << gaps << " of known gaps not compared)");
}
