// Weights on the GPU in their stored formats (model/weight.h): the same bytes as a HostWeight, uploaded
// once, with views that kernels take by value. A DeviceMatrix is one 2-D matrix W[rows, cols]
// (y = W x); DeviceExperts is a stack of them with a fixed stride between experts.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cuda/device_buffer.h"
#include "model/weight.h"

namespace tachyon::cuda {

struct DeviceMatrix {
  WeightFormat format = WeightFormat::F32;
  int rows = 0, cols = 0;
  const uint8_t* data = nullptr;
  size_t data_row_stride = 0;   // bytes between rows
  const uint8_t* scales = nullptr;
  size_t scale_row_stride = 0;  // bytes between rows of the scale grid (fp8: per 128 rows; mxfp4: per row)
  int scale_row0 = 0, scale_col0 = 0;  // fp8 slices: offset of element (0,0) inside its 128-block
};

struct DeviceExperts {
  DeviceMatrix first;           // expert 0 (or the first local expert)
  int experts = 0;
  size_t expert_data_stride = 0;   // bytes between experts' data
  size_t expert_scale_stride = 0;  // bytes between experts' scales

  __host__ __device__ DeviceMatrix expert(int e) const {
    DeviceMatrix m = first;
    m.data += e * expert_data_stride;
    if (m.scales) m.scales += e * expert_scale_stride;
    return m;
  }
};

// A HostWeight's bytes on the device (data and scales), with the layout it had on the host, except that
// MXFP4 data words are permuted into decode order (mxfp4_decode_order.h) for the kernels.
class DeviceWeight {
 public:
  DeviceWeight() = default;
  explicit DeviceWeight(const HostWeight& host);
  // Uninitialised storage for a whole (unsliced) tensor of `shape` in `format`, with a HostWeight's
  // layout; the caller fills data() and scales() on the device (benchmarks' random weights: MXFP4 words of
  // uniform random bits are random codes in either order).
  DeviceWeight(WeightFormat format, std::vector<int64_t> shape);

  bool empty() const { return shape_.empty(); }
  const std::vector<int64_t>& shape() const { return shape_; }
  WeightFormat format() const { return format_; }
  DeviceMatrix matrix() const;    // a 2-D (or 1-expert) weight
  DeviceExperts experts() const;  // a 3-D weight
  // FP32 vectors (norms, biases): the values as floats.
  const float* f32() const;
  size_t bytes() const { return data_.bytes() + scales_.bytes(); }
  DeviceBuffer<uint8_t>& data() { return data_; }
  DeviceBuffer<uint8_t>& scales() { return scales_; }

 private:
  WeightFormat format_ = WeightFormat::F32;
  std::vector<int64_t> shape_;
  DeviceBuffer<uint8_t> data_, scales_;
  size_t scale_row0_ = 0, scale_col0_ = 0;
};

}  // namespace tachyon::cuda
