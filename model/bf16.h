// BF16 <-> FP32. BF16 is the top half of an IEEE FP32: 1 sign, 8 exponent, 7 mantissa bits.
// Encoding rounds to nearest, ties to even; NaN stays NaN (quiet); infinities are kept.
#pragma once

#include <bit>
#include <cstdint>

namespace tachyon {

inline float bf16_to_float(uint16_t b) { return std::bit_cast<float>(static_cast<uint32_t>(b) << 16); }

inline uint16_t float_to_bf16(float f) {
  uint32_t u = std::bit_cast<uint32_t>(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x0040u);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest even on the 16 dropped bits
  return static_cast<uint16_t>(u >> 16);
}

// IEEE half (F16) -> FP32, for checkpoints that ship F16 tensors.
inline float f16_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t man = h & 0x3ffu;
  if (exp == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (man << 13));  // inf / nan
  if (exp == 0) {
    if (man == 0) return std::bit_cast<float>(sign);
    // subnormal: value = man * 2^-24; normalise it
    int shift = 0;
    while ((man & 0x400u) == 0) { man <<= 1; ++shift; }
    man &= 0x3ffu;
    exp = 1 - shift;
    return std::bit_cast<float>(sign | ((exp + 112) << 23) | (man << 13));
  }
  return std::bit_cast<float>(sign | ((exp + 112) << 23) | (man << 13));
}

}  // namespace tachyon
