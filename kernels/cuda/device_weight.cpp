#include "kernels/cuda/device_weight.h"

#include "kernels/cuda/mxfp4_decode_order.h"
#include "model/error.h"
#include "model/fp8.h"
#include "model/mxfp4.h"

namespace tachyon::cuda {

DeviceWeight::DeviceWeight(const HostWeight& host)
    : format_(host.format),
      shape_(host.shape),
      data_(host.data.size()),
      scales_(host.scales.size()),
      scale_row0_(host.scale_row0),
      scale_col0_(host.scale_col0) {
  data_.upload(host.data);
  scales_.upload(host.scales);
  if (format_ == WeightFormat::MXFP4) put_mxfp4_in_decode_order(data_.get(), data_.bytes());
}

DeviceWeight::DeviceWeight(WeightFormat format, std::vector<int64_t> shape) : format_(format), shape_(std::move(shape)) {
  if (shape_.empty()) return;
  size_t n = 1;
  for (int64_t d : shape_) n *= static_cast<size_t>(d);
  const size_t cols = shape_.back(), rows_all = cols ? n / cols : 0;
  const size_t rows = shape_.size() >= 2 ? shape_[shape_.size() - 2] : 1, experts = rows ? rows_all / rows : 0;
  data_ = DeviceBuffer<uint8_t>(weight_data_bytes(format_, rows_all, cols));
  if (format_ == WeightFormat::FP8)
    scales_ = DeviceBuffer<uint8_t>(experts * fp8_scale_rows(rows) * fp8_scale_cols(cols) * sizeof(float));
  else if (format_ == WeightFormat::MXFP4)
    scales_ = DeviceBuffer<uint8_t>(rows_all * (cols / kMxfp4BlockSize));
}

DeviceExperts DeviceWeight::experts() const {
  TACHYON_CHECK(shape_.size() == 3 || shape_.size() == 2, "experts() of a {}-D weight", shape_.size());
  const size_t rows = shape_[shape_.size() - 2], cols = shape_.back();
  DeviceExperts e;
  e.experts = shape_.size() == 3 ? static_cast<int>(shape_[0]) : 1;
  DeviceMatrix& m = e.first;
  m.format = format_;
  m.rows = static_cast<int>(rows);
  m.cols = static_cast<int>(cols);
  m.data = data_.get();
  m.data_row_stride = weight_data_bytes(format_, 1, cols);
  e.expert_data_stride = rows * m.data_row_stride;
  if (format_ == WeightFormat::FP8) {
    const size_t grid_cols = fp8_scale_cols(cols + scale_col0_);
    m.scales = scales_.get();
    m.scale_row_stride = grid_cols * sizeof(float);
    m.scale_row0 = static_cast<int>(scale_row0_);
    m.scale_col0 = static_cast<int>(scale_col0_);
    e.expert_scale_stride = fp8_scale_rows(rows + scale_row0_) * m.scale_row_stride;
  } else if (format_ == WeightFormat::MXFP4) {
    m.scales = scales_.get();
    m.scale_row_stride = cols / kMxfp4BlockSize;
    e.expert_scale_stride = rows * m.scale_row_stride;
  }
  return e;
}

DeviceMatrix DeviceWeight::matrix() const { return experts().first; }

const float* DeviceWeight::f32() const {
  if (empty()) return nullptr;
  TACHYON_CHECK(format_ == WeightFormat::F32, "f32() of a {} weight", format_name(format_));
  return reinterpret_cast<const float*>(data_.get());
}

}  // namespace tachyon::cuda
