// Building a Tokenizer from tokenizer.json: each stage parses its own part and refuses, by name, what it
// does not support; this file parses the added tokens, the decoder and truncation, and builds the id
// tables. Added-token ids are assigned the way `tokenizers` 0.23 does it, not read from the file.
#include <atomic>

#include <nlohmann/json.hpp>

#include "model/error.h"
#include "model/tokenizer/byte_level.h"
#include "model/tokenizer/tokenizer_impl.h"
#include "model/tokenizer/utf8.h"

namespace tachyon {
namespace {

std::atomic<uint64_t> next_uid{1};

void check_decoder(const nlohmann::json& j, const std::string& where) {
  TACHYON_REQUIRE(!j.is_null(),
                  "tokenizer.json: no decoder; only the ByteLevel decoder is supported (without one, tokenizers "
                  "joins tokens with spaces)");
  TACHYON_REQUIRE(j.is_object() && j.contains("type") && j["type"].is_string(),
                  "tokenizer.json: {} must be an object with a \"type\"", where);
  const std::string type = j["type"].get<std::string>();
  if (type == "ByteLevel") return;
  if (type == "Sequence" && j.contains("decoders") && j["decoders"].is_array() && j["decoders"].size() == 1) {
    check_decoder(j["decoders"][0], where + ".decoders[0]");
    return;
  }
  TACHYON_REQUIRE(false, "tokenizer.json: unsupported decoder \"{}\" at {} (supported: ByteLevel)", type, where);
}

std::optional<Truncation> parse_truncation(const nlohmann::json& j) {
  if (j.is_null()) return std::nullopt;
  TACHYON_REQUIRE(j.is_object() && j.contains("max_length") && j["max_length"].is_number_unsigned(),
                  "tokenizer.json: truncation must be null or have a max_length");
  Truncation t;
  t.max_length = j["max_length"].get<size_t>();
  t.left = j.value("direction", "Right") == "Left";
  return t;
}

AddedToken parse_added_token(const nlohmann::json& j, size_t index) {
  const std::string where = fmt::format("added_tokens[{}]", index);
  TACHYON_REQUIRE(j.is_object() && j.contains("content") && j["content"].is_string(),
                  "tokenizer.json: {} has no content", where);
  AddedToken t;
  t.content = j["content"].get<std::string>();
  utf8::require_valid(t.content, "tokenizer.json: " + where + ".content");
  auto flag = [&](const char* key, bool fallback) {
    return j.contains(key) && j[key].is_boolean() ? j[key].get<bool>() : fallback;
  };
  t.special = flag("special", false);
  t.single_word = flag("single_word", false);
  t.lstrip = flag("lstrip", false);
  t.rstrip = flag("rstrip", false);
  t.normalized = flag("normalized", !t.special);
  return t;
}

bool same_token(const AddedToken& a, const AddedToken& b) {
  return a.content == b.content && a.single_word == b.single_word && a.lstrip == b.lstrip && a.rstrip == b.rstrip &&
         a.normalized == b.normalized && a.special == b.special;
}

}  // namespace

Tokenizer Tokenizer::from_json(const std::string& tokenizer_json) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(tokenizer_json);
  } catch (const nlohmann::json::parse_error& e) {
    TACHYON_REQUIRE(false, "tokenizer.json is not valid JSON: {}", e.what());
  }
  TACHYON_REQUIRE(j.is_object(), "tokenizer.json must hold a JSON object");
  if (j.contains("version") && j["version"].is_string())
    TACHYON_REQUIRE(j["version"] == "1.0", "tokenizer.json: unknown version \"{}\" (expected \"1.0\")",
                    j["version"].get<std::string>());

  auto impl = std::make_shared<Impl>();
  impl->uid = next_uid++;
  // The model first, so that a WordPiece or Unigram file is refused for that reason before any other.
  impl->model = BpeModel::from_json(j.contains("model") ? j["model"] : nlohmann::json());
  impl->normalizer = Normalizer::from_json(j.value("normalizer", nlohmann::json()));
  impl->pre_tokenizer = PreTokenizer::from_json(j.value("pre_tokenizer", nlohmann::json()));
  impl->post_processor = PostProcessor::from_json(j.value("post_processor", nlohmann::json()));
  check_decoder(j.value("decoder", nlohmann::json()), "decoder");
  impl->truncation = parse_truncation(j.value("truncation", nlohmann::json()));
  // "padding" is deliberately ignored: a runtime never wants pad ids in a prompt.

  // Added tokens, as tokenizers' AddedVocabulary::add_tokens: an id is the existing one when the content
  // is already a token, else the next after the model vocabulary (the file's "id" is only a hint).
  const auto& model_tokens = impl->model.id_to_token();
  int32_t next_id = static_cast<int32_t>(impl->model.vocab_entries());
  std::unordered_map<int32_t, AddedToken> by_id;
  std::vector<int32_t> order;                      // ids in first-added order
  std::unordered_map<std::string, bool> specials;  // contents ever added as special (tokenizers never unsets)
  if (j.contains("added_tokens") && !j["added_tokens"].is_null()) {
    TACHYON_REQUIRE(j["added_tokens"].is_array(), "tokenizer.json: added_tokens must be a list");
    size_t index = 0;
    for (const auto& entry : j["added_tokens"]) {
      AddedToken token = parse_added_token(entry, index++);
      if (token.content.empty()) continue;
      auto existing = impl->added_ids.find(token.content);
      if (existing != impl->added_ids.end() && same_token(by_id[existing->second], token)) continue;
      int32_t id;
      if (existing != impl->added_ids.end()) id = existing->second;
      else if (auto model_id = impl->model.token_to_id(token.content)) id = *model_id;
      else id = next_id++;
      token.id = id;
      impl->added_ids[token.content] = id;
      if (token.special) specials[token.content] = true;
      if (!by_id.count(id)) order.push_back(id);
      by_id[id] = token;
    }
  }

  // Id tables: the model's tokens, then added tokens over them (their normalized spelling when a
  // normalizer changes it, which is what tokenizers decodes them to).
  int32_t size = static_cast<int32_t>(model_tokens.size());
  for (int32_t id : order) size = std::max(size, id + 1);
  impl->tokens.assign(size, std::string());
  impl->flags.assign(size, 0);
  for (size_t id = 0; id < model_tokens.size(); ++id) {
    impl->tokens[id] = model_tokens[id];
    if (!model_tokens[id].empty()) impl->flags[id] = Impl::kExists;
  }
  std::vector<std::string> raw_patterns, normalized_patterns;
  std::vector<AddedToken> raw_tokens, normalized_tokens;
  for (int32_t id : order) {
    const AddedToken& token = by_id[id];
    std::string spelling = token.content;
    if (token.normalized && !impl->normalizer.empty()) {
      std::string storage;
      spelling = std::string(impl->normalizer.normalize(token.content, storage));
    }
    impl->tokens[id] = spelling;
    impl->flags[id] = Impl::kExists | Impl::kAdded;
    if (token.normalized) {
      normalized_patterns.push_back(spelling);
      normalized_tokens.push_back(token);
    } else {
      raw_patterns.push_back(token.content);
      raw_tokens.push_back(token);
    }
  }
  impl->raw_added = AddedTokenMatcher(std::move(raw_patterns), std::move(raw_tokens));
  impl->normalized_added = AddedTokenMatcher(std::move(normalized_patterns), std::move(normalized_tokens));

  // Like tokenizers, skip_special_tokens tests the token string, whichever table it came from.
  for (int32_t id = 0; id < size; ++id)
    if ((impl->flags[id] & Impl::kExists) && specials.count(impl->tokens[id])) impl->flags[id] |= Impl::kSpecial;

  // What each id decodes to, by the ByteLevel decoder's rule: the bytes a token spells in the byte-level
  // alphabet, or, for a token with a character outside it, its own UTF-8.
  impl->bytes.resize(size);
  for (int32_t id = 0; id < size; ++id) {
    if (!(impl->flags[id] & Impl::kExists)) continue;
    auto decoded = byte_level::decode_token(impl->tokens[id]);
    impl->bytes[id] = decoded ? std::move(*decoded) : impl->tokens[id];
  }
  return Tokenizer(std::move(impl));
}

}  // namespace tachyon
