#include "model/mxfp4.h"

#include <algorithm>

namespace tachyon {

uint8_t float_to_e2m1(float x) {
  if (std::isnan(x)) return 0;
  const uint8_t sign = std::signbit(x) ? 8 : 0;
  const float a = std::fabs(x);
  // Decision points between neighbouring codes; at an exact midpoint the even code wins.
  uint8_t code;
  if (a <= 0.25f) code = 0;
  else if (a < 0.75f) code = 1;
  else if (a <= 1.25f) code = 2;
  else if (a < 1.75f) code = 3;
  else if (a <= 2.5f) code = 4;
  else if (a < 3.5f) code = 5;
  else if (a <= 5.0f) code = 6;
  else code = 7;
  return sign | code;
}

namespace {
int shared_exponent(float amax, Mxfp4ScaleRule rule) {
  const int floor_log2 = std::ilogb(amax);  // exact floor(log2 amax), subnormals included
  int e = floor_log2 - 2;                   // 4*2^e <= amax < 8*2^e
  if (rule == Mxfp4ScaleRule::Ceil && amax > std::ldexp(6.0f, e)) ++e;  // smallest e with 6*2^e >= amax
  return std::clamp(e, -127, 127);
}
}  // namespace

uint8_t quantize_mxfp4_block(const float* values, uint8_t* packed, Mxfp4ScaleRule rule) {
  float amax = 0.0f;
  bool finite = true;
  for (int i = 0; i < kMxfp4BlockSize; ++i) {
    if (!std::isfinite(values[i])) finite = false;
    amax = std::max(amax, std::fabs(values[i]));
  }
  std::fill(packed, packed + kMxfp4BlockBytes, uint8_t{0});
  if (!finite) return kE8M0NaN;
  if (amax == 0.0f) return 0;
  const int e = shared_exponent(amax, rule);
  for (int j = 0; j < kMxfp4BlockBytes; ++j) {
    const uint8_t lo = float_to_e2m1(std::ldexp(values[2 * j], -e));
    const uint8_t hi = float_to_e2m1(std::ldexp(values[2 * j + 1], -e));
    packed[j] = static_cast<uint8_t>(lo | (hi << 4));
  }
  return static_cast<uint8_t>(e + 127);
}

void quantize_mxfp4(const float* w, size_t rows, size_t cols, uint8_t* blocks, uint8_t* scales, Mxfp4ScaleRule rule) {
  const size_t nblocks = cols / kMxfp4BlockSize;
  for (size_t r = 0; r < rows; ++r)
    for (size_t b = 0; b < nblocks; ++b)
      scales[r * nblocks + b] = quantize_mxfp4_block(w + r * cols + b * kMxfp4BlockSize,
                                                     blocks + (r * nblocks + b) * kMxfp4BlockBytes, rule);
}

void dequantize_mxfp4_row(const uint8_t* blocks, const uint8_t* scales, size_t cols, float* out) {
  const size_t nblocks = cols / kMxfp4BlockSize;
  for (size_t b = 0; b < nblocks; ++b) {
    const float scale = e8m0_to_float(scales[b]);
    for (int j = 0; j < kMxfp4BlockBytes; ++j) {
      const uint8_t byte = blocks[b * kMxfp4BlockBytes + j];
      out[b * kMxfp4BlockSize + 2 * j] = e2m1_to_float(byte & 0xf) * scale;
      out[b * kMxfp4BlockSize + 2 * j + 1] = e2m1_to_float(byte >> 4) * scale;
    }
  }
}

}  // namespace tachyon
