// FNV-1a, 64 bits: the project's one byte hash. It seeds the random weights by tensor name, keys batch requests, and
// makes the digests that are compared across builds or with Python scripts (token ids, kernel outputs), so its values
// must never change.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace tachyon {

inline constexpr uint64_t kFnv1aBasis = 0xcbf29ce484222325ull;

// The hash of `bytes` continued from h (kFnv1aBasis: a fresh hash), so that a sequence can be hashed piece by piece.
constexpr uint64_t fnv1a64(std::span<const unsigned char> bytes, uint64_t h = kFnv1aBasis) {
  for (unsigned char b : bytes) h = (h ^ b) * 0x100000001b3ull;
  return h;
}

inline uint64_t fnv1a64(std::string_view s, uint64_t h = kFnv1aBasis) {
  return fnv1a64(std::span(reinterpret_cast<const unsigned char*>(s.data()), s.size()), h);
}

// The hash of 32-bit values as 4-byte little-endian words, whatever the host's byte order: how token ids are hashed
// (`tachyon tokenize`'s ids_fnv1a, the tokenizer parity test; scripts/bench/tokenizer_speed.py hashes Hugging Face's
// ids the same way).
inline uint64_t fnv1a64_le32(std::span<const int32_t> values, uint64_t h = kFnv1aBasis) {
  for (int32_t v : values) {
    unsigned char word[4];
    for (int k = 0; k < 4; ++k) word[k] = static_cast<unsigned char>(static_cast<uint32_t>(v) >> (8 * k));
    h = fnv1a64(word, h);
  }
  return h;
}

}  // namespace tachyon
