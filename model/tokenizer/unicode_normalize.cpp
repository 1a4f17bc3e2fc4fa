// NFC and NFD (see unicode_normalize.h). The algorithm is the one of UAX #15; the generator script holds
// a Python model of this exact code that it verifies against `tokenizers` on every code point.
#include "model/tokenizer/unicode_normalize.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "model/tokenizer/unicode_data.h"
#include "model/tokenizer/utf8.h"

namespace tachyon {
namespace {

namespace ud = unicode_data;

constexpr char32_t kHangulS0 = 0xAC00, kHangulL0 = 0x1100, kHangulV0 = 0x1161, kHangulT0 = 0x11A7;
constexpr char32_t kHangulLCount = 19, kHangulVCount = 21, kHangulTCount = 28;
constexpr char32_t kHangulNCount = kHangulVCount * kHangulTCount, kHangulSCount = kHangulLCount * kHangulNCount;
constexpr char32_t kMaxCodePoint = 0x110000;

uint8_t combining_class(char32_t cp) {
  if (cp < 0x300) return 0;
  const auto* end = ud::kCombiningClasses + ud::kCombiningClassCount;
  const auto* it = std::lower_bound(ud::kCombiningClasses, end, cp,
                                    [](const ud::CombiningClass& e, char32_t c) { return e.cp < c; });
  return it != end && it->cp == cp ? it->ccc : 0;
}

const ud::Decomposition* find_decomposition(char32_t cp) {
  const auto* end = ud::kDecompositions + ud::kDecompositionCount;
  const auto* it = std::lower_bound(ud::kDecompositions, end, cp,
                                    [](const ud::Decomposition& e, char32_t c) { return e.cp < c; });
  return it != end && it->cp == cp ? it : nullptr;
}

// Composite of (first, second), or 0.
char32_t find_composition(char32_t first, char32_t second) {
  const auto* end = ud::kCompositions + ud::kCompositionCount;
  const auto* it = std::lower_bound(ud::kCompositions, end, std::pair{first, second},
                                    [](const ud::Composition& e, std::pair<char32_t, char32_t> key) {
                                      return e.first != key.first ? e.first < key.first : e.second < key.second;
                                    });
  return it != end && it->first == first && it->second == second ? it->composite : 0;
}

// Code points that may make NFC change a string (the complement of NFC_Quick_Check=Yes): combining
// marks, second halves of compositions (Hangul vowels and trailing consonants included), and code
// points with a decomposition that are not primary composites. Built once; 136 KiB.
class NfcFlags {
 public:
  NfcFlags() : bits_(kMaxCodePoint / 64, 0) {
    for (size_t i = 0; i < ud::kCombiningClassCount; ++i) set(ud::kCombiningClasses[i].cp);
    std::vector<char32_t> composites;
    for (size_t i = 0; i < ud::kCompositionCount; ++i) {
      set(ud::kCompositions[i].second);
      composites.push_back(ud::kCompositions[i].composite);
    }
    std::sort(composites.begin(), composites.end());
    for (size_t i = 0; i < ud::kDecompositionCount; ++i) {
      const char32_t cp = ud::kDecompositions[i].cp;
      if (!std::binary_search(composites.begin(), composites.end(), cp)) set(cp);
    }
    for (char32_t cp = kHangulV0; cp < kHangulV0 + kHangulVCount; ++cp) set(cp);
    for (char32_t cp = kHangulT0 + 1; cp < kHangulT0 + kHangulTCount; ++cp) set(cp);
  }
  bool test(char32_t cp) const { return (bits_[cp >> 6] >> (cp & 63)) & 1; }

 private:
  void set(char32_t cp) { bits_[cp >> 6] |= uint64_t{1} << (cp & 63); }
  std::vector<uint64_t> bits_;
};

const NfcFlags& nfc_flags() {
  static const NfcFlags flags;
  return flags;
}

void decompose_into(std::string_view s, std::vector<char32_t>& out) {
  for (size_t i = 0; i < s.size();) {
    const char32_t cp = utf8::decode(s, i);
    if (cp >= kHangulS0 && cp < kHangulS0 + kHangulSCount) {
      const char32_t index = cp - kHangulS0;
      out.push_back(kHangulL0 + index / kHangulNCount);
      out.push_back(kHangulV0 + (index % kHangulNCount) / kHangulTCount);
      if (index % kHangulTCount) out.push_back(kHangulT0 + index % kHangulTCount);
    } else if (const auto* d = cp < 0xC0 ? nullptr : find_decomposition(cp)) {
      out.insert(out.end(), ud::kDecompositionChars + d->offset, ud::kDecompositionChars + d->offset + d->length);
    } else {
      out.push_back(cp);
    }
  }
  // Canonical ordering: a stable sort by combining class of each run of non-starters.
  for (size_t i = 0; i < out.size();) {
    if (combining_class(out[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < out.size() && combining_class(out[j]) != 0) ++j;
    std::stable_sort(out.begin() + i, out.begin() + j,
                     [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
    i = j;
  }
}

std::string encode(const std::vector<char32_t>& cps) {
  std::string out;
  out.reserve(cps.size() * 2);
  for (char32_t cp : cps) utf8::append(out, cp);
  return out;
}

}  // namespace

bool nfc_quick_check(std::string_view s) {
  const NfcFlags& flags = nfc_flags();
  for (size_t i = 0; i < s.size();) {
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    if (flags.test(utf8::decode(s, i))) return false;
  }
  return true;
}

std::string_view nfc(std::string_view s, std::string& storage) {
  const NfcFlags& flags = nfc_flags();
  size_t copied = 0;    // s[0, copied) is already in storage (once anything changed)
  size_t boundary = 0;  // start of the last code point that begins a stretch
  bool changed = false;
  for (size_t i = 0; i < s.size();) {
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      boundary = i++;
      continue;
    }
    const size_t start = i;
    if (!flags.test(utf8::decode(s, i))) {
      boundary = start;
      continue;
    }
    // A flagged code point: the stretch runs from the last boundary to the next one.
    size_t end = i;
    while (end < s.size()) {
      if (static_cast<uint8_t>(s[end]) < 0x80) break;
      size_t next = end;
      if (!flags.test(utf8::decode(s, next))) break;
      end = next;
    }
    const std::string_view stretch = s.substr(boundary, end - boundary);
    const std::string normalized = to_nfc(stretch);
    if (normalized != stretch) {
      if (!changed) {
        storage.clear();
        storage.reserve(s.size() + 16);
        changed = true;
      }
      storage.append(s.data() + copied, boundary - copied);
      storage += normalized;
      copied = end;
    }
    boundary = end;
    i = end;
  }
  if (!changed) return s;
  storage.append(s.data() + copied, s.size() - copied);
  return storage;
}

std::string to_nfd(std::string_view s) {
  std::vector<char32_t> cps;
  cps.reserve(s.size());
  decompose_into(s, cps);
  return encode(cps);
}

std::string to_nfc(std::string_view s) {
  std::vector<char32_t> cps;
  cps.reserve(s.size());
  decompose_into(s, cps);
  // Canonical composition: each character combines with the last starter unless blocked by a character
  // in between whose combining class is not lower than its own.
  std::vector<char32_t> out;
  out.reserve(cps.size());
  size_t starter = SIZE_MAX;
  uint8_t last_ccc = 0;
  for (char32_t cp : cps) {
    const uint8_t ccc = combining_class(cp);
    if (starter != SIZE_MAX) {
      const char32_t s0 = out[starter];
      const bool adjacent = starter + 1 == out.size();
      char32_t composite = 0;
      if (s0 >= kHangulL0 && s0 < kHangulL0 + kHangulLCount && cp >= kHangulV0 && cp < kHangulV0 + kHangulVCount &&
          adjacent) {
        composite = kHangulS0 + ((s0 - kHangulL0) * kHangulVCount + (cp - kHangulV0)) * kHangulTCount;
      } else if (s0 >= kHangulS0 && s0 < kHangulS0 + kHangulSCount && (s0 - kHangulS0) % kHangulTCount == 0 &&
                 cp > kHangulT0 && cp < kHangulT0 + kHangulTCount && adjacent) {
        composite = s0 + (cp - kHangulT0);
      } else if (last_ccc < ccc || (last_ccc == 0 && adjacent)) {
        composite = find_composition(s0, cp);
      }
      if (composite != 0) {
        out[starter] = composite;
        continue;
      }
    }
    if (ccc == 0) {
      starter = out.size();
      last_ccc = 0;
    } else {
      last_ccc = ccc;
    }
    out.push_back(cp);
  }
  return encode(out);
}

}  // namespace tachyon
