// The model shapes `tachyon bench step` measures with random weights: real architectures where the
// config parser supports them, and the closest shape the supported families can express where it does
// not (MiMo-V2.5-Pro), with what differs said in `note`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "model/config.h"

namespace tachyon {

struct BenchModel {
  std::string name;
  ModelConfig config;
  // The share of the model one rank holds is 1/slice_of: the deployment's GPU count (8 for the models
  // that need a node), so that fewer GPUs each run exactly one deployment GPU's work (DESIGN.md section 6).
  int slice_of = 1;
  std::string note;  // how the shape differs from the real model, empty when it does not
};

std::vector<std::string> bench_model_names();
// A preset's name, or the path of a target checkpoint (.h5: its config) or a config.json; throws tachyon::Error
// naming the presets for anything else.
BenchModel bench_model(std::string_view name);

}  // namespace tachyon
