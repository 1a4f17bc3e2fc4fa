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

}  // namespace tachyon
