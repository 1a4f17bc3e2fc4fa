// The GPU's MXFP4 word order (kernels/cuda/mxfp4_decode_order.h): a permutation of the 32 bits whose pairs
// decode, by the kernels' own instructions (run here on the host), to the BF16 bits of every code's value.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "kernels/cuda/mxfp4_decode_order.h"
#include "model/mxfp4.h"

using namespace tachyon;
using cuda::mxfp4_from_decode_order;
using cuda::mxfp4_to_decode_order;

namespace {

// The BF16 bits of code_value * 2^-126 (exact: one significant bit after the leading one, and the
// smallest, 0.5 * 2^-126, is a BF16 subnormal).
uint32_t bf16_scaled_bits(uint32_t code) {
  const float v = std::ldexp(e2m1_to_float(static_cast<uint8_t>(code)), -126);
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  REQUIRE((bits & 0xffffu) == 0);
  return bits >> 16;
}

template <int P>
void check_pair_decodes(std::mt19937& rng) {
  CAPTURE(P);
  for (uint32_t lo = 0; lo < 16; ++lo)
    for (uint32_t hi = 0; hi < 16; ++hi)
      for (int draw = 0; draw < 8; ++draw) {
        // Elements P (lo) and P + 4 (hi) set, the word's other six codes random.
        uint32_t w = static_cast<uint32_t>(rng());
        w &= ~((0xFu << (4 * P)) | (0xFu << (4 * (P + 4))));
        w |= (lo << (4 * P)) | (hi << (4 * (P + 4)));
        const uint32_t got = cuda::mxfp4_pair_bf16x2_scaled<P>(mxfp4_to_decode_order(w));
        CAPTURE(w);
        CHECK(got == (bf16_scaled_bits(lo) | (bf16_scaled_bits(hi) << 16)));
      }
}

}  // namespace

TEST_CASE("mxfp4 decode order: a permutation of the word's bits") {
  bool seen[16] = {};
  for (int pair = 0; pair < 4; ++pair)
    for (int b = 0; b < 4; ++b) {
      const int bit = cuda::mxfp4_decode_order_bit(pair, b);
      REQUIRE(bit >= 0);
      REQUIRE(bit < 16);
      CHECK_FALSE(seen[bit]);
      seen[bit] = true;
    }
  for (int i = 0; i < 32; ++i) {
    const uint32_t w = mxfp4_to_decode_order(1u << i);
    CHECK((w != 0 && (w & (w - 1)) == 0));  // one bit in, one bit out
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 10000; ++i) {
    const uint32_t w = static_cast<uint32_t>(rng());
    CHECK(mxfp4_from_decode_order(mxfp4_to_decode_order(w)) == w);
  }
  CHECK(mxfp4_to_decode_order(0) == 0);
  CHECK(mxfp4_to_decode_order(0xFFFFFFFFu) == 0xFFFFFFFFu);
}

TEST_CASE("mxfp4 decode order: every pair decodes to its two codes' scaled BF16 values") {
  std::mt19937 rng(11);
  check_pair_decodes<0>(rng);
  check_pair_decodes<1>(rng);
  check_pair_decodes<2>(rng);
  check_pair_decodes<3>(rng);
}
