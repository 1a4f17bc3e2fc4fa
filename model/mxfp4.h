// MXFP4 (OCP Microscaling v1.0): E2M1 elements, one E8M0 scale per 32 consecutive elements along K.
//
// E2M1 codes 0..7 = 0, 0.5, 1, 1.5, 2, 3, 4, 6; bit 3 is the sign. E8M0 scale byte b = 2^(b-127), 0xFF = NaN.
// Layout (gpt-oss): a matrix W[N, K] is blocks[N, K/32, 16] uint8 and scales[N, K/32] uint8; byte j of a
// 32-element block holds element 2j in its low nibble and element 2j+1 in its high nibble.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace tachyon {

inline constexpr int kMxfp4BlockSize = 32;       // elements per scale
inline constexpr int kMxfp4BlockBytes = 16;      // packed bytes per block
inline constexpr uint8_t kE8M0NaN = 0xff;

// How the quantizer picks a block's scale X = 2^e from the block maximum amax:
//   Floor: e = floor(log2 amax) - 2 (OCP's recommendation, microxcaling, ggml); amax/X in [4, 8), so
//          values in (6, 8)*X saturate to 6*X.
//   Ceil:  e = ceil(log2(amax / 6)) (triton_kernels ROUND_UP, cuBLAS RCEIL); never clips, coarser grid.
enum class Mxfp4ScaleRule { Floor, Ceil };

inline float e2m1_to_float(uint8_t code) {
  static constexpr float kValues[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
  const float v = kValues[code & 7];
  return (code & 8) ? -v : v;
}

// Nearest E2M1 code, ties to the even code (0.25->0, 0.75->1, 1.25->1, 1.75->2, 2.5->2, 3.5->4, 5->4);
// magnitudes beyond 6 saturate to 6. NaN maps to 0 (a NaN block is marked by its scale instead).
uint8_t float_to_e2m1(float x);

inline float e8m0_to_float(uint8_t b) { return b == kE8M0NaN ? NAN : std::ldexp(1.0f, static_cast<int>(b) - 127); }

// Quantizes one block of 32 values into 16 packed bytes; returns the E8M0 scale byte.
// A block whose maximum is not finite gets scale 0xFF (NaN); an all-zero block gets scale byte 0.
uint8_t quantize_mxfp4_block(const float* values, uint8_t* packed, Mxfp4ScaleRule rule);

// Row-major W[rows, cols] (cols a multiple of 32) -> blocks[rows, cols/32, 16], scales[rows, cols/32].
void quantize_mxfp4(const float* w, size_t rows, size_t cols, uint8_t* blocks, uint8_t* scales, Mxfp4ScaleRule rule);

// Decodes `cols` elements of one row (cols a multiple of 32) from its packed blocks and scales.
void dequantize_mxfp4_row(const uint8_t* blocks, const uint8_t* scales, size_t cols, float* out);

}  // namespace tachyon
