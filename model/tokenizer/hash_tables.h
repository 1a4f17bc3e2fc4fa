// Small open-addressing hash tables for the BPE hot path: merges keyed by a pair of ids, and words
// (byte strings) mapped to id sequences. std::unordered_map costs a node allocation and a pointer chase
// per lookup, which shows at tens of millions of lookups per second.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace tachyon {

inline uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

// Hash of a byte string, eight bytes at a time.
inline uint64_t hash_bytes(std::string_view s) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ s.size();
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = mix64(h ^ w);
  }
  if (i < s.size()) {
    uint64_t w = 0;
    std::memcpy(&w, s.data() + i, s.size() - i);
    h = mix64(h ^ w ^ 0xA5);
  }
  return h;
}

// Equality of two byte ranges of length n, eight bytes at a time (words are short; a libc call costs more).
inline bool bytes_equal(const char* a, const char* b, size_t n) {
  for (; n >= 8; n -= 8, a += 8, b += 8) {
    uint64_t x, y;
    std::memcpy(&x, a, 8);
    std::memcpy(&y, b, 8);
    if (x != y) return false;
  }
  for (; n > 0; --n)
    if (*a++ != *b++) return false;
  return true;
}

// Map from a pair of token ids to (rank, merged id). Built once, then read-only.
class MergeTable {
 public:
  struct Value {
    uint32_t rank;
    int32_t id;
  };
  void reserve(size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap *= 2;
    slots_.assign(cap, Slot{kEmpty, {0, 0}});
  }
  // Later insertions of the same pair win, as in `tokenizers` (its merges are collected into a map).
  void insert(int32_t a, int32_t b, Value v) {
    const uint64_t key = make_key(a, b);
    for (size_t i = mix64(key) & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
      if (slots_[i].key == kEmpty || slots_[i].key == key) {
        slots_[i] = Slot{key, v};
        return;
      }
    }
  }
  const Value* find(int32_t a, int32_t b) const {
    const uint64_t key = make_key(a, b);
    for (size_t i = mix64(key) & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
      if (slots_[i].key == key) return &slots_[i].value;
      if (slots_[i].key == kEmpty) return nullptr;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  static uint64_t make_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  struct Slot {
    uint64_t key;
    Value value;
  };
  std::vector<Slot> slots_;
};

// Map from byte strings to id sequences. Used read-only for the vocabulary and as the per-thread word
// cache (which is simply cleared when it fills up). Most words are short and encode to one id, so a
// slot holds the first eight bytes of its key and a single id itself: one cache miss per lookup, not
// three. Longer keys and id lists live in two arenas.
class WordTable {
 public:
  explicit WordTable(size_t capacity = 1024) { reset(capacity); }

  void reset(size_t capacity) {
    size_t cap = 16;
    while (cap < capacity * 2) cap *= 2;
    slots_.assign(cap, Slot{});
    keys_.clear();
    values_.clear();
    count_ = 0;
    capacity_ = capacity;
  }
  size_t size() const { return count_; }
  size_t capacity() const { return capacity_; }
  bool full() const { return count_ >= capacity_; }

  // The ids stored for `word` (and their number in *n), or nullptr.
  const int32_t* find(std::string_view word, uint64_t hash, uint32_t* n) const {
    const uint64_t prefix = prefix_of(word);
    const auto h32 = static_cast<uint32_t>(hash);
    for (size_t i = hash & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
      const Slot& s = slots_[i];
      if (s.key_len == 0) return nullptr;
      if (s.hash == h32 && s.key_len == word.size() && s.prefix == prefix &&
          (word.size() <= 8 || bytes_equal(keys_.data() + s.key_offset, word.data() + 8, word.size() - 8))) {
        *n = s.value_len;
        return s.value_len == 1 ? &s.value : values_.data() + s.value;
      }
    }
  }
  // Inserts `word` (non-empty, not present). The caller checks full() first.
  void insert(std::string_view word, uint64_t hash, const int32_t* ids, uint32_t n) {
    size_t i = hash & (slots_.size() - 1);
    while (slots_[i].key_len != 0) i = (i + 1) & (slots_.size() - 1);
    Slot& s = slots_[i];
    s.prefix = prefix_of(word);
    s.hash = static_cast<uint32_t>(hash);
    s.key_len = static_cast<uint32_t>(word.size());
    s.key_offset = static_cast<uint32_t>(keys_.size());
    if (word.size() > 8) keys_.append(word.substr(8));
    s.value_len = n;
    if (n == 1) {
      s.value = ids[0];
    } else {
      s.value = static_cast<int32_t>(values_.size());
      values_.insert(values_.end(), ids, ids + n);
    }
    ++count_;
  }

 private:
  static uint64_t prefix_of(std::string_view w) {
    uint64_t p = 0;
    std::memcpy(&p, w.data(), w.size() < 8 ? w.size() : 8);
    return p;
  }
  struct Slot {
    uint64_t prefix = 0;    // the key's first 8 bytes, zero-padded
    uint32_t hash = 0;      // low half of the key's hash
    uint32_t key_len = 0;   // 0 marks an empty slot (words are never empty)
    uint32_t key_offset = 0;  // the key's bytes after the first 8, in keys_
    uint32_t value_len = 0;
    int32_t value = 0;      // the id itself when value_len is 1, else an offset into values_
  };
  std::vector<Slot> slots_;
  std::string keys_;
  std::vector<int32_t> values_;
  size_t count_ = 0, capacity_ = 0;
};

}  // namespace tachyon
