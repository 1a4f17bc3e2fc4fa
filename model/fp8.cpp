#include "model/fp8.h"

#include <algorithm>
#include <cmath>

namespace tachyon {

float e4m3_to_float(uint8_t code) {
  const float sign = (code & 0x80) ? -1.0f : 1.0f;
  const int exp = (code >> 3) & 0xf;
  const int man = code & 0x7;
  if (exp == 0xf && man == 0x7) return std::nanf("");
  if (exp == 0) return sign * std::ldexp(static_cast<float>(man), -9);  // subnormal: man/8 * 2^-6
  return sign * std::ldexp(1.0f + man / 8.0f, exp - 7);
}

uint8_t float_to_e4m3(float x) {
  if (std::isnan(x)) return kFp8E4M3NaN;
  const uint8_t sign = std::signbit(x) ? 0x80 : 0x00;
  const float a = std::fabs(x);
  if (a >= kFp8E4M3Max) return sign | 0x7e;  // saturate (also +-inf)
  if (a < 0.015625f) {  // below the smallest normal 2^-6: subnormal grid of step 2^-9
    // nearbyint rounds half to even in the default rounding mode; a * 2^9 is exact.
    const int m = static_cast<int>(std::nearbyint(a * 512.0f));
    return sign | static_cast<uint8_t>(m);  // m == 8 is exactly the smallest normal's code 0x08
  }
  int e = std::ilogb(a);                                       // 2^e <= a < 2^(e+1), e in [-6, 8]
  const float frac = std::ldexp(a, -e) - 1.0f;                 // in [0, 1), exact
  int m = static_cast<int>(std::nearbyint(frac * 8.0f));       // ties to even on the mantissa
  if (m == 8) { m = 0; ++e; }
  const int code = ((e + 7) << 3) | m;
  return sign | static_cast<uint8_t>(std::min(code, 0x7e));
}

void quantize_fp8_blocks(const float* w, size_t rows, size_t cols, uint8_t* codes, float* scales) {
  const size_t scale_cols = fp8_scale_cols(cols);
  for (size_t br = 0; br < fp8_scale_rows(rows); ++br) {
    for (size_t bc = 0; bc < scale_cols; ++bc) {
      const size_t r0 = br * kFp8BlockSize, r1 = std::min(rows, r0 + kFp8BlockSize);
      const size_t c0 = bc * kFp8BlockSize, c1 = std::min(cols, c0 + kFp8BlockSize);
      float amax = 0.0f;
      for (size_t r = r0; r < r1; ++r)
        for (size_t c = c0; c < c1; ++c) amax = std::max(amax, std::fabs(w[r * cols + c]));
      const float scale = amax > 0.0f ? amax / kFp8E4M3Max : 1.0f;
      scales[br * scale_cols + bc] = scale;
      for (size_t r = r0; r < r1; ++r)
        for (size_t c = c0; c < c1; ++c) codes[r * cols + c] = float_to_e4m3(w[r * cols + c] / scale);
    }
  }
}

void dequantize_fp8_blocks(const uint8_t* codes, const float* scales, size_t rows, size_t cols, size_t row_begin,
                           size_t row_end, float* out) {
  const size_t scale_cols = fp8_scale_cols(cols);
  for (size_t r = row_begin; r < row_end; ++r)
    for (size_t c = 0; c < cols; ++c)
      out[(r - row_begin) * cols + c] =
          e4m3_to_float(codes[r * cols + c]) * scales[(r / kFp8BlockSize) * scale_cols + c / kFp8BlockSize];
}

}  // namespace tachyon
