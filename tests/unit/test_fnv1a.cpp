// model/fnv1a.h: the one byte hash. Its values are compared with Python scripts and across builds, so they are pinned to
// the published FNV-1a 64-bit test vectors.
#include <doctest/doctest.h>

#include <string>

#include "model/fnv1a.h"

using namespace tachyon;

TEST_CASE("fnv1a64: the published test vectors, and a hash continued piece by piece equals the whole") {
  CHECK(fnv1a64(std::string_view()) == 0xcbf29ce484222325ull);
  CHECK(fnv1a64("a") == 0xaf63dc4c8601ec8cull);
  CHECK(fnv1a64("foobar") == 0x85944171f73967e8ull);
  CHECK(fnv1a64("bar", fnv1a64("foo")) == fnv1a64("foobar"));
  const unsigned char bytes[] = {'f', 'o', 'o', 'b', 'a', 'r'};
  CHECK(fnv1a64(bytes) == fnv1a64("foobar"));
  static_assert(fnv1a64(std::span<const unsigned char>()) == kFnv1aBasis);
}

TEST_CASE("fnv1a64_le32: 32-bit values hash as their 4-byte little-endian words") {
  const int32_t words[] = {0x64636261, 0x00006665, -1};  // "abcd", "ef\0\0", 0xff x 4
  const unsigned char bytes[] = {'a', 'b', 'c', 'd', 'e', 'f', 0, 0, 0xff, 0xff, 0xff, 0xff};
  CHECK(fnv1a64_le32(words) == fnv1a64(bytes));
  CHECK(fnv1a64_le32(std::span(words, 1)) == fnv1a64("abcd"));
}
