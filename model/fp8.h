// FP8 E4M3 ("fn": finite, no infinities) with FP32 scales per 128x128 weight block (DeepSeek-V3 style).
//
// E4M3: 1 sign, 4 exponent (bias 7), 3 mantissa bits; max finite 448 (S.1111.110); NaN = S.1111.111;
// subnormals m/8 * 2^-6. A weight W[N, K] is stored as codes[N, K] plus scales[ceil(N/128), ceil(K/128)];
// dequantized value = e4m3(code) * scale of its block (HF calls the scale `weight_scale_inv` but
// multiplies by it).
#pragma once

#include <cstddef>
#include <cstdint>

namespace tachyon {

inline constexpr float kFp8E4M3Max = 448.0f;
inline constexpr int kFp8BlockSize = 128;
inline constexpr uint8_t kFp8E4M3NaN = 0x7f;

float e4m3_to_float(uint8_t code);

// Round to nearest, ties to even. Magnitudes beyond 448 saturate to +-448 (the quantizer never produces
// them because it scales the block maximum to 448); NaN encodes as NaN.
uint8_t float_to_e4m3(float x);

// Quantizes a row-major W[rows, cols] into codes[rows, cols] and scales[ceil(rows/128), ceil(cols/128)]:
// scale = amax(block) / 448 (1 for an all-zero block). Exact for values already on the E4M3 grid of
// their block scale.
void quantize_fp8_blocks(const float* w, size_t rows, size_t cols, uint8_t* codes, float* scales);

// Inverse of quantize_fp8_blocks for rows [row_begin, row_end): writes (row_end-row_begin) x cols floats.
void dequantize_fp8_blocks(const uint8_t* codes, const float* scales, size_t rows, size_t cols, size_t row_begin,
                           size_t row_end, float* out);

inline size_t fp8_scale_rows(size_t rows) { return (rows + kFp8BlockSize - 1) / kFp8BlockSize; }
inline size_t fp8_scale_cols(size_t cols) { return (cols + kFp8BlockSize - 1) / kFp8BlockSize; }

}  // namespace tachyon
