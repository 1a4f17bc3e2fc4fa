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

// DFlash drafters (kind "drafter"): the fusion of the tapped target layers, its norm, and the optional
// learned embedding of the mask token.
inline constexpr const char* kFc = "fc";
inline constexpr const char* kHiddenNorm = "hidden_norm";
inline constexpr const char* kMaskEmbedding = "mask_embedding";

}  // namespace tachyon::names
