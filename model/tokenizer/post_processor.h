// The post-processor stage for a single sequence: which special ids go around the encoded text when
// add_special_tokens is true. Supported (tokenizer.json "post_processor"): TemplateProcessing (its
// "single" template), ByteLevel (no ids), RobertaProcessing and BertProcessing (cls ... sep), and
// Sequence of those, composed in order as `tokenizers` applies them.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace tachyon {

class PostProcessor {
 public:
  // From the tokenizer.json "post_processor" value (null allowed). Throws naming what is unsupported.
  static PostProcessor from_json(const nlohmann::json& j);

  // Turns the text's ids into the final ids, in place.
  void apply(std::vector<int32_t>& ids, bool add_special_tokens) const;
  // Number of ids added around a sequence (for truncation).
  size_t added_count() const;

 private:
  // The single-sequence template: runs of special ids, and kSequence where the text's ids go.
  static constexpr int32_t kSequence = -1;
  std::vector<int32_t> items_{kSequence};
};

}  // namespace tachyon
