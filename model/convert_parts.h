// Pieces shared by the converters (model/convert.cpp for targets, model/drafter_convert.cpp for DFlash
// drafters): the source safetensors with every use recorded, and the emitter that
// writes tensors in their chosen formats and keeps the summary.
#pragma once

#include <fmt/ranges.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "model/checkpoint.h"
#include "model/convert.h"
#include "model/error.h"
#include "model/safetensors.h"
#include "model/text_file.h"

namespace tachyon::convert_detail {

// Writes tensors in their chosen formats and keeps the summary.
class Emitter {
 public:
  Emitter(CheckpointWriter& writer, ConvertSummary& summary) : w_(writer), s_(summary) {}

  void values(const std::string& name, const std::vector<float>& v, std::vector<int64_t> shape, WeightFormat f) {
    raw(name, make_host_weight(v.data(), std::move(shape), f));
  }
  void raw(const std::string& name, const HostWeight& hw) {
    w_.write(name, hw);
    count(hw.format, hw.data.size() + hw.scales.size());
  }
  void create_experts(const std::string& name, WeightFormat f, std::vector<int64_t> shape) {
    w_.create(name, f, shape);
    count(f, 0);
  }
  void expert(const std::string& name, int64_t e, const HostWeight& hw) {
    w_.write_expert(name, e, hw);
    s_.bytes += hw.data.size() + hw.scales.size();
  }

 private:
  void count(WeightFormat f, uint64_t bytes) {
    ++s_.tensors;
    ++s_.by_format[std::string(format_name(f))];
    s_.bytes += bytes;
  }
  CheckpointWriter& w_;
  ConvertSummary& s_;
};

// The source tensors, with every use recorded so that leftovers can be reported.
class Source {
 public:
  explicit Source(const std::string& dir) : dir_(dir) {}
  bool has(const std::string& n) const { return dir_.has(n); }
  const StTensor& tensor(const std::string& n, const std::vector<int64_t>& shape) {
    const StTensor& t = dir_.get(n);
    TACHYON_REQUIRE(t.shape == shape, "tensor '{}' in {} has shape [{}] but the config implies [{}]", n, t.file,
                    fmt::join(t.shape, ", "), fmt::join(shape, ", "));
    used_.insert(n);
    return t;
  }
  std::vector<float> f32(const std::string& n, const std::vector<int64_t>& shape) {
    tensor(n, shape);
    return dir_.read_f32(n);
  }
  // A tensor whose shape the caller checks itself (marked used).
  const StTensor& any_shape(const std::string& n) {
    used_.insert(n);
    return dir_.get(n);
  }
  std::vector<float> f32_any_shape(const std::string& n) {
    any_shape(n);
    return dir_.read_f32(n);
  }
  std::vector<std::string> unused() const {
    std::vector<std::string> out;
    for (const auto& n : dir_.names())
      if (!used_.count(n)) out.push_back(n);
    return out;
  }

 private:
  SafetensorsDir dir_;
  std::set<std::string> used_;
};

}  // namespace tachyon::convert_detail
