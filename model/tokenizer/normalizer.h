// The normalizer stage of the tokenizer: a flat list of steps (tokenizer.json "normalizer", with any
// Sequence flattened). Supported: NFC, NFD. Anything else is refused when the tokenizer is loaded.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace tachyon {

class Normalizer {
 public:
  enum class Step { kNfc, kNfd };

  // From the tokenizer.json "normalizer" value (null allowed). Throws naming an unsupported type.
  static Normalizer from_json(const nlohmann::json& j);

  bool empty() const { return steps_.empty(); }
  // Normalizes `text` (valid UTF-8). Returns a view of `text` itself when nothing changes, else of
  // `storage`, which receives the result.
  std::string_view normalize(std::string_view text, std::string& storage) const;

 private:
  std::vector<Step> steps_;
};

}  // namespace tachyon
