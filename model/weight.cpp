#include "model/weight.h"

#include <algorithm>
#include <cstring>

#include "model/bf16.h"
#include "model/error.h"
#include "model/fp8.h"
#include "model/mxfp4.h"
#include "model/parallel_for.h"

namespace tachyon {

std::string_view format_name(WeightFormat f) {
  switch (f) {
    case WeightFormat::F32: return "f32";
    case WeightFormat::BF16: return "bf16";
    case WeightFormat::FP8: return "fp8";
    case WeightFormat::MXFP4: return "mxfp4";
  }
  return "?";
}

WeightFormat parse_weight_format(std::string_view name) {
  if (name == "f32") return WeightFormat::F32;
  if (name == "bf16") return WeightFormat::BF16;
  if (name == "fp8") return WeightFormat::FP8;
  if (name == "mxfp4") return WeightFormat::MXFP4;
  throw Error(fmt::format("unknown weight format '{}' (expected f32, bf16, fp8 or mxfp4)", name));
}

size_t weight_data_bytes(WeightFormat f, size_t rows, size_t cols) {
  switch (f) {
    case WeightFormat::F32: return rows * cols * 4;
    case WeightFormat::BF16: return rows * cols * 2;
    case WeightFormat::FP8: return rows * cols;
    case WeightFormat::MXFP4: return rows * cols / 2;
  }
  return 0;
}

void MatrixView::dequantize_row(size_t r, float* out) const {
  const uint8_t* row = data + r * data_row_stride;
  switch (format) {
    case WeightFormat::F32:
      std::memcpy(out, row, cols * sizeof(float));
      return;
    case WeightFormat::BF16: {
      const auto* p = reinterpret_cast<const uint16_t*>(row);
      for (size_t c = 0; c < cols; ++c) out[c] = bf16_to_float(p[c]);
      return;
    }
    case WeightFormat::FP8: {
      const auto* srow = reinterpret_cast<const float*>(scales + ((r + scale_row0) / kFp8BlockSize) * scale_row_stride);
      for (size_t c = 0; c < cols; ++c) out[c] = e4m3_to_float(row[c]) * srow[(c + scale_col0) / kFp8BlockSize];
      return;
    }
    case WeightFormat::MXFP4:
      dequantize_mxfp4_row(row, scales + r * scale_row_stride, cols, out);
      return;
  }
}

size_t HostWeight::rows() const { return shape.size() >= 2 ? static_cast<size_t>(shape[shape.size() - 2]) : 1; }
size_t HostWeight::cols() const { return shape.empty() ? 0 : static_cast<size_t>(shape.back()); }

MatrixView HostWeight::matrix(size_t expert) const {
  TACHYON_CHECK(expert < experts(), "expert {} of {}", expert, experts());
  MatrixView v;
  v.format = format;
  v.rows = rows();
  v.cols = cols();
  v.data_row_stride = weight_data_bytes(format, 1, v.cols);
  v.data = data.data() + expert * v.rows * v.data_row_stride;
  if (format == WeightFormat::FP8) {
    // The scale grid of a slice starting inside a block covers one more block row/col when needed.
    const size_t grid_rows = fp8_scale_rows(v.rows + scale_row0);
    const size_t grid_cols = fp8_scale_cols(v.cols + scale_col0);
    v.scale_row_stride = grid_cols * sizeof(float);
    v.scales = scales.data() + expert * grid_rows * v.scale_row_stride;
    v.scale_row0 = scale_row0;
    v.scale_col0 = scale_col0;
  } else if (format == WeightFormat::MXFP4) {
    v.scale_row_stride = v.cols / kMxfp4BlockSize;
    v.scales = scales.data() + expert * v.rows * v.scale_row_stride;
  }
  return v;
}

std::vector<float> HostWeight::to_float() const {
  std::vector<float> out(experts() * rows() * cols());
  for (size_t e = 0; e < experts(); ++e) {
    MatrixView m = matrix(e);
    for (size_t r = 0; r < m.rows; ++r) m.dequantize_row(r, out.data() + (e * m.rows + r) * m.cols);
  }
  return out;
}

HostWeight make_host_weight(const float* values, std::vector<int64_t> shape, WeightFormat format) {
  HostWeight w;
  w.format = format;
  w.shape = std::move(shape);
  const size_t experts = w.experts(), rows = w.rows(), cols = w.cols();
  const size_t n = experts * rows * cols;
  w.data.resize(weight_data_bytes(format, experts * rows, cols));
  switch (format) {
    case WeightFormat::F32:
      std::memcpy(w.data.data(), values, n * sizeof(float));
      break;
    case WeightFormat::BF16: {
      auto* p = reinterpret_cast<uint16_t*>(w.data.data());
      parallel_for(n, size_t(1) << 16, [&](size_t begin, size_t end) {
        for (size_t i = begin; i < end; ++i) p[i] = float_to_bf16(values[i]);
      });
      break;
    }
    case WeightFormat::FP8: {
      // Whole 128-row bands of scale blocks per chunk: a band's codes and scales depend on it alone.
      const size_t grid_cols = fp8_scale_cols(cols), bands = fp8_scale_rows(rows), grid = bands * grid_cols;
      w.scales.resize(experts * grid * sizeof(float));
      auto* scales = reinterpret_cast<float*>(w.scales.data());
      parallel_for(experts * bands, 1, [&](size_t begin, size_t end) {
        for (size_t i = begin; i < end; ++i) {
          const size_t e = i / bands, r0 = i % bands * kFp8BlockSize, r1 = std::min(rows, r0 + kFp8BlockSize);
          const size_t at = (e * rows + r0) * cols;
          quantize_fp8_blocks(values + at, r1 - r0, cols, w.data.data() + at, scales + e * grid + i % bands * grid_cols);
        }
      });
      break;
    }
    case WeightFormat::MXFP4: {
      TACHYON_REQUIRE(cols % kMxfp4BlockSize == 0, "mxfp4 needs the input dimension ({}) to be a multiple of 32", cols);
      const size_t blocks = cols / kMxfp4BlockSize;
      w.scales.resize(experts * rows * blocks);
      parallel_for(experts * rows, 64, [&](size_t begin, size_t end) {
        quantize_mxfp4(values + begin * cols, end - begin, cols, w.data.data() + begin * blocks * kMxfp4BlockBytes,
                       w.scales.data() + begin * blocks, Mxfp4ScaleRule::Floor);
      });
      break;
    }
  }
  return w;
}

}  // namespace tachyon
