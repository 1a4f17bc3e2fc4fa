// Tachyon's tensor names (docs/checkpoint-format.md), in one place for the converter, the loader and
// the random-model writer.
#pragma once

#include <fmt/format.h>

#include <string>

namespace tachyon::names {

inline std::string layer(int l, const char* what) { return fmt::format("layers.{}.{}", l, what); }

inline constexpr const char* kEmbed = "embed";
inline constexpr const char* kLmHead = "lm_head";
inline constexpr const char* kFinalNorm = "final_norm";

}  // namespace tachyon::names
