// Building Tachyon checkpoints: from a Hugging Face model directory (`tachyon convert --from`), or with
// random weights for a given config (`tachyon convert --random-config`; benchmarks and the demo).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "model/mxfp4.h"
#include "model/weight.h"

namespace tachyon {

struct ConvertOptions {
  // Format of the expert matrices. Unset: keep MXFP4 when the checkpoint ships it, else bf16.
  std::optional<WeightFormat> experts;
  // Format of the other matrices (attention, dense MLPs, LM head). Embeddings and routers never go
  // below bf16; norms, biases and sinks are always f32.
  WeightFormat dense = WeightFormat::BF16;
  Mxfp4ScaleRule mxfp4_rule = Mxfp4ScaleRule::Floor;
};

struct ConvertSummary {
  size_t tensors = 0;
  uint64_t bytes = 0;                          // stored bytes (data and scales)
  std::map<std::string, size_t> by_format;     // tensors per format
  std::vector<std::string> ignored;            // source tensors that were not used
};

using ConvertProgress = std::function<void(const std::string& message)>;

ConvertSummary convert_hf_directory(const std::string& hf_dir, const std::string& out_path, const ConvertOptions& options,
                                    const ConvertProgress& progress = {});

// A checkpoint with random weights (deterministic in `seed`) for the model that `config_json` describes.
// `tokenizer_json` is stored when given.
ConvertSummary write_random_checkpoint(const std::string& config_json, const std::string& out_path, uint64_t seed,
                                       const ConvertOptions& options, const std::optional<std::string>& tokenizer_json,
                                       const ConvertProgress& progress = {});

}  // namespace tachyon
