// The Tachyon checkpoint: one HDF5 file per model (see docs/checkpoint-format.md, version 1).
//
// A reader can take one expert, a range of experts, a row range, a column range, or any combination,
// without reading the rest of the tensor (HDF5 hyperslabs over chunked datasets), so that every rank
// reads only its own shard. All errors name the file and the tensor.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/weight.h"

namespace tachyon {

inline constexpr int kCheckpointFormatVersion = 1;

struct TensorInfo {
  std::string name;
  WeightFormat format = WeightFormat::F32;
  std::vector<int64_t> shape;  // logical: [n], [rows, cols] or [experts, rows, cols]
};

// Part of a tensor to read; ranges are half-open, and an end of -1 means "to the end".
// For mxfp4 the column range must be a multiple of 32. For 1-D tensors only the "col" range applies.
struct TensorSlice {
  int64_t expert_begin = 0, expert_end = -1;
  int64_t row_begin = 0, row_end = -1;
  int64_t col_begin = 0, col_end = -1;
};

class CheckpointReader {
 public:
  explicit CheckpointReader(const std::string& path);
  ~CheckpointReader();
  CheckpointReader(CheckpointReader&&) noexcept;
  CheckpointReader& operator=(CheckpointReader&&) noexcept;

  const std::string& path() const;
  const std::string& kind() const;                     // "target" or "drafter"
  const std::string& config_json() const;              // the model's HF-style config.json, verbatim
  const std::optional<std::string>& tokenizer_json() const;
  std::vector<TensorInfo> tensors() const;             // sorted by name
  bool has(const std::string& name) const;
  TensorInfo info(const std::string& name) const;      // throws naming the missing tensor
  HostWeight read(const std::string& name, const TensorSlice& slice = {}) const;
  // The same into `w`, reusing its buffers' memory: a loader that uploads each tensor and reads the next
  // into the same HostWeight touches fresh pages only once (a new buffer a tensor spent most of a load's
  // time in page faults and the kernel's zeroing of the pages).
  void read_into(const std::string& name, const TensorSlice& slice, HostWeight& w) const;
  uint64_t bytes_read() const;                         // total bytes of tensor data read so far

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class CheckpointWriter {
 public:
  CheckpointWriter(const std::string& path, const std::string& kind, const std::string& config_json,
                   const std::optional<std::string>& tokenizer_json);
  ~CheckpointWriter();
  CheckpointWriter(const CheckpointWriter&) = delete;
  CheckpointWriter& operator=(const CheckpointWriter&) = delete;

  // Writes a whole tensor.
  void write(const std::string& name, const HostWeight& weight);
  // Creates an expert tensor [experts, rows, cols] and fills it one expert at a time, so that the
  // converter never holds more than one expert in memory.
  void create(const std::string& name, WeightFormat format, const std::vector<int64_t>& shape);
  void write_expert(const std::string& name, int64_t expert, const HostWeight& matrix);
  // Flushes and closes; throws if anything created was not completely written.
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The model config of a target checkpoint; a clear error naming the file when it is something else (a
// DFlash drafter given where the target belongs).
ModelConfig target_model_config(const CheckpointReader& reader);

}  // namespace tachyon
