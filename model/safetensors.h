// Reading Hugging Face safetensors: one file, or a directory of shards with model.safetensors.index.json.
// Files are memory-mapped; tensors are views into the mapping.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tachyon {

enum class StDtype { F64, F32, F16, BF16, F8_E4M3, I64, I32, I16, I8, U8, BOOL };

struct StTensor {
  std::string name;
  StDtype dtype = StDtype::F32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;
  size_t nbytes = 0;
  std::string file;  // which file it came from, for messages

  int64_t numel() const;
};

class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);  // throws naming the file on a bad header
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::map<std::string, StTensor>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  std::string path_;
  void* map_ = nullptr;
  size_t size_ = 0;
  std::map<std::string, StTensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

// All safetensors of a Hugging Face model directory.
class SafetensorsDir {
 public:
  explicit SafetensorsDir(const std::string& dir);
  bool has(const std::string& name) const;
  const StTensor& get(const std::string& name) const;  // throws naming the tensor and the directory
  std::vector<std::string> names() const;              // sorted
  // Values of an F32/F16/BF16 tensor (or F64) as FP32; throws for other dtypes.
  std::vector<float> read_f32(const std::string& name) const;

 private:
  std::string dir_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const StTensor*> index_;
};

// Writes a safetensors file (used by tests and tools). `tensors` are (name, dtype, shape, bytes).
struct StTensorData {
  std::string name;
  StDtype dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};
void write_safetensors(const std::string& path, const std::vector<StTensorData>& tensors);

}  // namespace tachyon
