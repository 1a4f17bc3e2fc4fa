// Converting a DFlash drafter directory (z-lab's layout: config.json + safetensors, optionally MiMo's
// mask embedding) into a Tachyon checkpoint of kind "drafter" (`tachyon convert --drafter`); the names
// are in docs/checkpoint-format.md, "Drafter checkpoints".
#pragma once

#include <string>

#include "model/convert.h"

namespace tachyon {

// Matrices (fc, attention, MLP) take `options.dense`; norms, sinks, biases and the mask embedding are
// f32. `options.experts` must be unset (a drafter has no experts).
ConvertSummary convert_drafter_directory(const std::string& dir, const std::string& out_path, const ConvertOptions& options,
                                         const ConvertProgress& progress = {});

}  // namespace tachyon
