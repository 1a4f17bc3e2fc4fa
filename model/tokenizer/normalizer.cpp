// Normalizer stage (see normalizer.h).
#include "model/tokenizer/normalizer.h"

#include <nlohmann/json.hpp>

#include "model/error.h"
#include "model/tokenizer/unicode_normalize.h"

namespace tachyon {
namespace {

void add_steps(const nlohmann::json& j, std::vector<Normalizer::Step>& steps, const std::string& where) {
  TACHYON_REQUIRE(j.is_object() && j.contains("type") && j["type"].is_string(),
                  "tokenizer.json: {} must be an object with a \"type\"", where);
  const std::string type = j["type"].get<std::string>();
  if (type == "NFC") {
    steps.push_back(Normalizer::Step::kNfc);
  } else if (type == "NFD") {
    steps.push_back(Normalizer::Step::kNfd);
  } else if (type == "Sequence") {
    TACHYON_REQUIRE(j.contains("normalizers") && j["normalizers"].is_array(),
                    "tokenizer.json: {} (Sequence) has no \"normalizers\" list", where);
    size_t k = 0;
    for (const auto& sub : j["normalizers"]) add_steps(sub, steps, fmt::format("{}.normalizers[{}]", where, k++));
  } else {
    TACHYON_REQUIRE(false,
                    "tokenizer.json: unsupported normalizer \"{}\" at {} (supported: NFC, NFD, Sequence of them)",
                    type, where);
  }
}

}  // namespace

Normalizer Normalizer::from_json(const nlohmann::json& j) {
  Normalizer n;
  if (!j.is_null()) add_steps(j, n.steps_, "normalizer");
  return n;
}

std::string_view Normalizer::normalize(std::string_view text, std::string& storage) const {
  std::string_view current = text;
  for (Step step : steps_) {
    if (step == Step::kNfc) {
      std::string out;
      const std::string_view result = nfc(current, out);
      if (result.data() == current.data()) continue;  // unchanged
      storage = std::move(out);
    } else {
      bool ascii = true;
      for (char c : current) ascii &= static_cast<unsigned char>(c) < 0x80;
      if (ascii) continue;
      storage = to_nfd(current);
    }
    current = storage;
  }
  return current;
}

}  // namespace tachyon
