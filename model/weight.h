// Weights as they are stored: a format, a logical shape, and the bytes (plus scales for quantized
// formats). The compute code never converts a whole model to FP32; it dequantizes row by row.
//
// Every matrix is W[rows, cols] in nn.Linear orientation (y = W x, cols = input features, K).
// Expert weights add a leading expert dimension: W[E, rows, cols].
//
//   format    data                         scales
//   f32       float  [.., rows, cols]      -
//   bf16      uint16 [.., rows, cols]      -
//   fp8       uint8  [.., rows, cols]      float [.., ceil(rows/128), ceil(cols/128)]  (value = e4m3 * scale)
//   mxfp4     uint8  [.., rows, cols/32, 16] uint8 [.., rows, cols/32]                 (E8M0 per 32 along cols)
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tachyon {

enum class WeightFormat { F32, BF16, FP8, MXFP4 };

std::string_view format_name(WeightFormat f);            // "f32", "bf16", "fp8", "mxfp4"
WeightFormat parse_weight_format(std::string_view name);  // throws tachyon::Error naming the value

// Bytes of the data part for `rows x cols` elements.
size_t weight_data_bytes(WeightFormat f, size_t rows, size_t cols);

// A read-only view of one 2-D matrix (one expert's, or a dense one) in its stored format. A view may be
// a slice of a larger matrix: for FP8 the slice's first row/column may sit inside a 128-block, which
// `scale_row0`/`scale_col0` record (offsets of element (0,0) inside its scale block).
struct MatrixView {
  WeightFormat format = WeightFormat::F32;
  size_t rows = 0, cols = 0;
  const uint8_t* data = nullptr;
  size_t data_row_stride = 0;    // bytes between consecutive rows of `data`
  const uint8_t* scales = nullptr;
  size_t scale_row_stride = 0;   // bytes between rows of the scale grid (fp8: one grid row per 128 rows)
  size_t scale_row0 = 0, scale_col0 = 0;

  // Decodes row r (all cols) into out[cols] as FP32.
  void dequantize_row(size_t r, float* out) const;
};

// An owned host tensor in a stored format: the unit that checkpoints read and write and that the CPU
// backend computes from. `shape` is the logical shape ([rows, cols], [E, rows, cols] or [n] for vectors).
struct HostWeight {
  WeightFormat format = WeightFormat::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;
  std::vector<uint8_t> scales;
  size_t scale_row0 = 0, scale_col0 = 0;  // fp8 slices only (see MatrixView)

  bool empty() const { return shape.empty(); }
  size_t rows() const;  // shape[-2] (or 1 for vectors)
  size_t cols() const;  // shape[-1]
  size_t experts() const { return shape.size() == 3 ? static_cast<size_t>(shape[0]) : 1; }
  MatrixView matrix(size_t expert = 0) const;
  // FP32 values of a vector or matrix (all of it); for norms, biases, small tensors and tests.
  std::vector<float> to_float() const;
};

// Builds an F32/BF16/FP8/MXFP4 HostWeight from FP32 values of logical `shape` (quantizing as needed;
// MXFP4 with the floor scale rule, FP8 with 128x128 block scales per matrix).
HostWeight make_host_weight(const float* values, std::vector<int64_t> shape, WeightFormat format);

}  // namespace tachyon
