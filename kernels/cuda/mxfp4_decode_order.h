// The order of the E2M1 codes inside each 32-bit word of MXFP4 data on the GPU ("decode order").
//
// On the host (model/mxfp4.h, the HDF5 files) a word holds elements 0..7 of its block, element i in bits
// 4i..4i+3 (sign in the nibble's bit 3, then e1 e0 m). The tensor-core kernels take the word's elements
// in pairs (P, P + 4), P = 0..3, and need each pair as a BF16 pair whose bits are the codes' bits moved to
// sign -> bit 15 and e1 e0 m -> bits 8..6 (low half: element P; high half, 16 bits up: element P + 4;
// the value is then code_value * 2^-126, see dequant.cuh). From the host order that takes three
// instructions a pair and one more for pairs 2 and 3 (13 a word), which bounds the expert GEMMs' decoding
// (the integer pipes) once the weights have landed.
//
// So every MXFP4 word uploaded to the GPU is permuted once, in place (DeviceWeight), so that the pairs sit
// where fewer instructions reach those bits. In the low half word (the high half is the same, 16 bits up):
//   pair 0: m 6, e0 7, e1 8, s 15   (already in place: one AND)
//   pair 1: m 3, e0 4, e1 5, s 12   (3 bits lower: shift left 3, AND)
//   pair 2: m 0, e0 1, e1 2, s 9    (6 bits lower: shift left 6, AND)
//   pair 3: e0 10, e1 11, s 13, m 14 (the bits left over: e1 e0 three up, m eight up, s two down; 4 instructions)
// 9 instructions a word instead of 13, 5 of them on the integer pipe instead of 9 (a shift is an IMAD,
// which issues to the FMA pipe). No three free bits are adjacent after pairs 0-2, and no placement of four
// shifted copies of pair 0's bits tiles the 16 bits, so one pair has to take more.
//
// Plain C++ (host and device): the host side permutes and tests; kernels decode with dequant.cuh.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__CUDACC__)
#define TACHYON_MXFP4_HD __host__ __device__ __forceinline__
#else
#define TACHYON_MXFP4_HD inline
#endif

namespace tachyon::cuda {

// Permutes `bytes` of MXFP4 data in device memory from host order to decode order, in place, and waits
// (mxfp4_decode_order.cu). DeviceWeight calls it on every MXFP4 upload.
void put_mxfp4_in_decode_order(uint8_t* device_data, size_t bytes);

// Bit of the low half word where element P's (and, 16 bits up, element P + 4's) code bit b lands:
// b = 0 (m), 1 (e0), 2 (e1), 3 (s).
TACHYON_MXFP4_HD constexpr int mxfp4_decode_order_bit(int pair, int b) {
  if (pair < 3) return b < 3 ? 6 - 3 * pair + b : 15 - 3 * pair;
  return b == 0 ? 14 : b == 1 ? 10 : b == 2 ? 11 : 13;
}

// Host order -> decode order, one word.
TACHYON_MXFP4_HD constexpr uint32_t mxfp4_to_decode_order(uint32_t w) {
  uint32_t out = 0;
  for (int pair = 0; pair < 4; ++pair)
    for (int half = 0; half < 2; ++half) {
      const uint32_t code = (w >> (4 * (pair + 4 * half))) & 0xFu;
      for (int b = 0; b < 4; ++b) out |= ((code >> b) & 1u) << (mxfp4_decode_order_bit(pair, b) + 16 * half);
    }
  return out;
}

// Decode order -> host order, one word (the inverse of mxfp4_to_decode_order).
TACHYON_MXFP4_HD constexpr uint32_t mxfp4_from_decode_order(uint32_t w) {
  uint32_t out = 0;
  for (int pair = 0; pair < 4; ++pair)
    for (int half = 0; half < 2; ++half) {
      uint32_t code = 0;
      for (int b = 0; b < 4; ++b) code |= ((w >> (mxfp4_decode_order_bit(pair, b) + 16 * half)) & 1u) << b;
      out |= code << (4 * (pair + 4 * half));
    }
  return out;
}

TACHYON_MXFP4_HD uint32_t mxfp4_umulhi(uint32_t a, uint32_t b) {
#if defined(__CUDA_ARCH__)
  return __umulhi(a, b);
#else
  return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32);
#endif
}

// Pair P of a decode-order word as a BF16 pair, each half exactly code_value * 2^-126 (low half: element
// P, high half: element P + 4). The mask keeps sign (15) and e1 e0 m (8..6) of both halves.
template <int P>
TACHYON_MXFP4_HD uint32_t mxfp4_pair_bf16x2_scaled(uint32_t w) {
  static_assert(P >= 0 && P < 4, "pair index");
  constexpr uint32_t kKeep = 0x81C081C0u;
  if constexpr (P < 3) {
    return (w << (3 * P)) & kKeep;
  } else {
    // Pair 3's bits (10, 11, 13, 14 and 16 up): e1 e0 go down 3 and m down 8 in one multiply-high (the two
    // shifted copies do not overlap, so there are no carries), s goes up 2.
    const uint32_t bits = w & 0x6C006C00u;
    const uint32_t down = mxfp4_umulhi(bits, (1u << 29) | (1u << 24));
    return (down | (bits << 2)) & kKeep;
  }
}

}  // namespace tachyon::cuda
