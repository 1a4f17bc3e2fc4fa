// Post-processor stage (see post_processor.h).
#include "model/tokenizer/post_processor.h"

#include <string>

#include <nlohmann/json.hpp>

#include "model/error.h"

namespace tachyon {
namespace {

// One processor's single-sequence template, with kSequence for the text.
std::vector<int32_t> template_of(const nlohmann::json& j, const std::string& where, int32_t seq) {
  TACHYON_REQUIRE(j.is_object() && j.contains("type") && j["type"].is_string(),
                  "tokenizer.json: {} must be an object with a \"type\"", where);
  const std::string type = j["type"].get<std::string>();
  if (type == "ByteLevel") return {seq};  // adjusts offsets only
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    auto id_of = [&](const char* key) {
      TACHYON_REQUIRE(j.contains(key) && j[key].is_array() && j[key].size() == 2 && j[key][1].is_number_integer(),
                      "tokenizer.json: {}.{} must be [token, id]", where, key);
      return j[key][1].get<int32_t>();
    };
    return {id_of("cls"), seq, id_of("sep")};
  }
  if (type == "TemplateProcessing") {
    TACHYON_REQUIRE(j.contains("single") && j["single"].is_array(), "tokenizer.json: {} has no \"single\" template",
                    where);
    std::vector<int32_t> out;
    for (const auto& piece : j["single"]) {
      if (piece.contains("Sequence")) {
        const std::string id = piece["Sequence"].value("id", "A");
        TACHYON_REQUIRE(id == "A", "tokenizer.json: {}.single uses sequence ${}; a single template can only use $A",
                        where, id);
        out.push_back(seq);
      } else if (piece.contains("SpecialToken")) {
        const std::string name = piece["SpecialToken"].value("id", "");
        TACHYON_REQUIRE(j.contains("special_tokens") && j["special_tokens"].contains(name),
                        "tokenizer.json: {}.single uses special token \"{}\" missing from its special_tokens", where,
                        name);
        const auto& ids = j["special_tokens"][name]["ids"];
        TACHYON_REQUIRE(ids.is_array(), "tokenizer.json: {}.special_tokens[\"{}\"].ids must be a list", where, name);
        for (const auto& id : ids) out.push_back(id.get<int32_t>());
      } else {
        TACHYON_REQUIRE(false, "tokenizer.json: {}.single has a piece that is neither Sequence nor SpecialToken: {}",
                        where, piece.dump());
      }
    }
    return out;
  }
  TACHYON_REQUIRE(false,
                  "tokenizer.json: unsupported post-processor \"{}\" at {} (supported: TemplateProcessing, ByteLevel, "
                  "RobertaProcessing, BertProcessing, Sequence)",
                  type, where);
  return {};
}

}  // namespace

PostProcessor PostProcessor::from_json(const nlohmann::json& j) {
  PostProcessor p;
  if (j.is_null()) return p;
  std::vector<std::pair<const nlohmann::json*, std::string>> processors;
  if (j.is_object() && j.value("type", "") == "Sequence") {
    TACHYON_REQUIRE(j.contains("processors") && j["processors"].is_array(),
                    "tokenizer.json: post_processor (Sequence) has no \"processors\" list");
    size_t k = 0;
    for (const auto& s : j["processors"]) processors.emplace_back(&s, fmt::format("post_processor.processors[{}]", k++));
  } else {
    processors.emplace_back(&j, "post_processor");
  }
  // Each processor wraps what the previous ones produced: substitute the running template for its $A.
  for (const auto& [proc, where] : processors) {
    std::vector<int32_t> next;
    for (int32_t item : template_of(*proc, where, kSequence)) {
      if (item == kSequence) next.insert(next.end(), p.items_.begin(), p.items_.end());
      else next.push_back(item);
    }
    p.items_ = std::move(next);
  }
  return p;
}

void PostProcessor::apply(std::vector<int32_t>& ids, bool add_special_tokens) const {
  if (items_.size() == 1 && items_[0] == kSequence) return;  // nothing around the text (Qwen, gpt-oss)
  std::vector<int32_t> out;
  out.reserve(ids.size() + items_.size());
  for (int32_t item : items_) {
    if (item == kSequence) out.insert(out.end(), ids.begin(), ids.end());
    else if (add_special_tokens) out.push_back(item);
  }
  ids = std::move(out);
}

size_t PostProcessor::added_count() const {
  size_t n = 0;
  for (int32_t item : items_) n += item != kSequence;
  return n;
}

}  // namespace tachyon
