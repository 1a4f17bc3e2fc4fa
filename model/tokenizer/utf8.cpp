// UTF-8 validation and lossy conversion (see utf8.h).
#include "model/tokenizer/utf8.h"

#include <cstring>

#include "model/error.h"

namespace tachyon::utf8 {
namespace {

// Length of the well-formed sequence at s[i], 0 when ill-formed; `*prefix` receives the length of the
// maximal prefix that is still a valid start (>= 1), which is how far an ill-formed subpart extends,
// and `*truncated` whether the sequence was cut short by the end of the input.
size_t sequence_length(std::string_view s, size_t i, size_t* prefix, bool* truncated) {
  const auto b0 = static_cast<uint8_t>(s[i]);
  *truncated = false;
  *prefix = 1;
  if (b0 < 0x80) return 1;
  size_t need;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 3;
    if (b0 == 0xE0) lo = 0xA0;  // no overlongs
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 4;
    if (b0 == 0xF0) lo = 0x90;  // no overlongs
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  for (size_t k = 1; k < need; ++k) {
    if (i + k >= s.size()) {
      *truncated = true;
      *prefix = k;
      return 0;
    }
    const auto b = static_cast<uint8_t>(s[i + k]);
    const bool ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    if (!ok) {
      *prefix = k;
      return 0;
    }
  }
  return need;
}

// Skips a run of ASCII bytes eight at a time.
size_t skip_ascii(std::string_view s, size_t i) {
  while (i + 8 <= s.size()) {
    uint64_t word;
    std::memcpy(&word, s.data() + i, 8);
    if (word & 0x8080808080808080ull) break;
    i += 8;
  }
  while (i < s.size() && static_cast<uint8_t>(s[i]) < 0x80) ++i;
  return i;
}

}  // namespace

size_t find_invalid(std::string_view s) {
  size_t i = 0;
  while (true) {
    i = skip_ascii(s, i);
    if (i >= s.size()) return kValid;
    size_t prefix;
    bool truncated;
    const size_t n = sequence_length(s, i, &prefix, &truncated);
    if (n == 0) return i;
    i += n;
  }
}

void require_valid(std::string_view s, std::string_view what) {
  const size_t bad = find_invalid(s);
  if (bad == kValid) return;
  std::string bytes;
  for (size_t k = bad; k < s.size() && k < bad + 4; ++k)
    bytes += fmt::format("{}{:02X}", bytes.empty() ? "" : " ", static_cast<uint8_t>(s[k]));
  TACHYON_REQUIRE(false, "{} is not valid UTF-8: ill-formed sequence at byte offset {} (bytes {})", what, bad,
                  bytes);
}

size_t append_lossy(std::string& out, std::string_view bytes, bool final) {
  size_t i = 0;
  while (i < bytes.size()) {
    const size_t ascii_end = skip_ascii(bytes, i);
    out.append(bytes.data() + i, ascii_end - i);
    i = ascii_end;
    if (i >= bytes.size()) break;
    size_t prefix;
    bool truncated;
    const size_t n = sequence_length(bytes, i, &prefix, &truncated);
    if (n > 0) {
      out.append(bytes.data() + i, n);
      i += n;
    } else if (truncated && !final) {
      return i;  // may still complete: wait for more bytes
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD for the maximal ill-formed subpart
      i += prefix;
    }
  }
  return i;
}

}  // namespace tachyon::utf8
