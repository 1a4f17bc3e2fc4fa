#include "model/drafter_config.h"

#include <cmath>
#include <optional>

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "model/config_fields.h"
#include "model/error.h"

namespace tachyon {

using nlohmann::json;

namespace {

// Top-level fields that belong to the drafter, not to the Qwen3 layer shapes. The DFlash ones may also
// sit inside `dflash_config` (kDflashFields); vLLM and SGLang read both places.
const std::set<std::string> kTopLevelFields = {
    "block_size",    "dflash_config",   "num_target_layers",   "target_layer_ids",      "mask_token_id",
    "mask_token",    "use_swa",         "swa_window_size",     "causal",                "attention_sink_bias",
    "attention_value_scale",            "add_swa_attention_sink_bias",                  "use_aux_hidden_state",
    "target_hidden_size"};

// Reads a field that may be given at the top level, inside dflash_config, or both (then equal).
class TwoPlaces {
 public:
  TwoPlaces(ConfigFields& top, ConfigFields* dflash) : top_(top), dflash_(dflash) {}

  const json* raw(const std::string& name) {
    const json* a = dflash_ ? dflash_->get_raw(name) : nullptr;
    const json* b = top_.get_raw(name);
    if (a && b && *a != *b)
      top_.fail(name, fmt::format("is {} here but {} in dflash_config; give it once", b->dump(), a->dump()));
    return a ? a : b;
  }
  // Where the value came from, for messages and typed reads.
  ConfigFields& owner(const std::string& name) { return dflash_ && dflash_->has(name) ? *dflash_ : top_; }

  std::optional<int64_t> get_int(const std::string& name) {
    if (!raw(name)) return std::nullopt;
    return owner(name).get_int(name, 0);
  }
  std::optional<double> get_double(const std::string& name) {
    if (!raw(name)) return std::nullopt;
    return owner(name).get_double(name, 0.0);
  }
  std::optional<bool> get_bool(const std::string& name) {
    if (!raw(name)) return std::nullopt;
    return owner(name).get_bool(name, false);
  }
  std::optional<std::vector<int64_t>> get_int_list(const std::string& name) {
    if (!raw(name)) return std::nullopt;
    return owner(name).get_int_list(name);
  }

 private:
  ConfigFields& top_;
  ConfigFields* dflash_;
};

// Resolves sliding/window/causal per draft layer (the rules are in the header).
void resolve_attention(DrafterConfig& d, ConfigFields& top, TwoPlaces& both) {
  ModelConfig& m = d.model;
  const bool use_swa = both.get_bool("use_swa").value_or(false);
  const std::optional<int64_t> swa_window = both.get_int("swa_window_size");
  const std::optional<bool> causal = both.get_bool("causal");
  const int64_t sliding_window = top.get_int("sliding_window", 0);

  int typed_sliding = 0;
  for (const auto& l : m.layers) typed_sliding += l.sliding ? 1 : 0;  // from layer_types (parse_model_config)
  if (use_swa && typed_sliding > 0 && typed_sliding < m.num_layers)
    both.owner("use_swa").fail("use_swa", fmt::format("is true but layer_types mixes sliding and full layers ({} of {} "
                                                      "sliding); readers disagree on what that means, so Tachyon refuses",
                                                      typed_sliding, m.num_layers));
  const int64_t window = swa_window.value_or(sliding_window);
  if (swa_window && *swa_window <= 0) both.owner("swa_window_size").fail("swa_window_size", "must be positive");
  d.causal.assign(m.num_layers, false);
  for (int l = 0; l < m.num_layers; ++l) {
    LayerConfig& lc = m.layers[l];
    // Sliding by layer_types (or by use_sliding_window, from which transformers derives layer_types).
    // A layer that use_swa makes sliding keeps the RoPE parse_model_config gave it (the full layers').
    const bool typed = lc.sliding;
    lc.sliding = use_swa || lc.sliding;
    if (lc.sliding) {
      if (window <= 0)
        top.fail(use_swa ? "use_swa" : "layer_types",
                 "sliding layers need a window: give dflash_config.swa_window_size or sliding_window");
      lc.sliding_window = static_cast<int>(window);
    } else {
      lc.sliding_window = 0;
    }
    d.causal[l] = causal.value_or(typed);
  }
}

}  // namespace

std::vector<int> build_target_layer_ids(int num_target_layers, int num_draft_layers) {
  TACHYON_REQUIRE(num_target_layers > 0 && num_draft_layers > 0,
                  "default target_layer_ids need positive layer counts (target {}, drafter {})", num_target_layers,
                  num_draft_layers);
  if (num_draft_layers == 1) return {num_target_layers / 2};
  const int start = 1, end = num_target_layers - 3, span = end - start;
  std::vector<int> ids;
  for (int i = 0; i < num_draft_layers; ++i)
    // nearbyint in the default rounding mode rounds half to even, as Python's round() does.
    ids.push_back(static_cast<int>(std::nearbyint(start + static_cast<double>(i * span) / (num_draft_layers - 1))));
  return ids;
}

DrafterConfig parse_drafter_config(const json& j, const std::string& origin) {
  DrafterConfig d;
  d.model = parse_model_config(j, origin, kTopLevelFields);
  TACHYON_REQUIRE(d.model.family == ModelFamily::Qwen3,
                  "{}: field 'model_type': a DFlash drafter is a dense Qwen3 stack ('qwen3'), not '{}'", origin,
                  d.model.model_type);

  ConfigFields top(j, origin);
  std::optional<ConfigFields> dflash;
  if (const json* dc = top.get_raw("dflash_config")) dflash.emplace(*dc, origin + ": dflash_config");
  TwoPlaces both(top, dflash ? &*dflash : nullptr);

  const std::optional<int64_t> block = both.get_int("block_size");
  if (!block) top.fail("block_size", "required (top level or in dflash_config)");
  if (*block < 2 || *block > kMaxDraftBlock)
    both.owner("block_size").fail("block_size", fmt::format("{} is outside [2, {}]", *block, kMaxDraftBlock));
  d.block_size = static_cast<int>(*block);

  const std::optional<int64_t> mask = both.get_int("mask_token_id");
  const json* mask_token = both.raw("mask_token");  // the token's text: mask_token_id says the same
  if (!mask)
    top.fail("mask_token_id", mask_token ? fmt::format("required: Tachyon does not resolve mask_token {} to an id; "
                                                       "add the id as dflash_config.mask_token_id", mask_token->dump())
                                         : std::string("required (in dflash_config)"));
  if (*mask < 0) both.owner("mask_token_id").fail("mask_token_id", fmt::format("{} is negative", *mask));
  d.mask_token_id = static_cast<int32_t>(*mask);

  d.num_target_layers = static_cast<int>(top.get_int("num_target_layers", 0));
  if (top.has("num_target_layers") && d.num_target_layers <= 0)
    top.fail("num_target_layers", fmt::format("{} must be positive", d.num_target_layers));
  if (const auto ids = both.get_int_list("target_layer_ids")) {
    if (ids->empty()) both.owner("target_layer_ids").fail("target_layer_ids", "is empty");
    for (int64_t id : *ids) {
      if (id < 0) both.owner("target_layer_ids").fail("target_layer_ids", fmt::format("layer {} is negative", id));
      d.target_layer_ids.push_back(static_cast<int>(id));
    }
  } else if (d.num_target_layers > 0) {
    d.target_layer_ids = build_target_layer_ids(d.num_target_layers, d.model.num_layers);
  }

  resolve_attention(d, top, both);

  // MiMo: a learned sink logit per head in every layer, and a scale on the values.
  const bool sinks = both.get_bool("attention_sink_bias").value_or(false) || top.get_bool("add_swa_attention_sink_bias", false);
  for (auto& l : d.model.layers) l.sinks = sinks;
  if (const auto scale = both.get_double("attention_value_scale")) {
    if (!(*scale > 0.0)) both.owner("attention_value_scale").fail("attention_value_scale", "must be positive");
    d.model.value_scale = static_cast<float>(*scale);
  }

  if (!both.get_bool("use_aux_hidden_state").value_or(true))
    both.owner("use_aux_hidden_state").fail("use_aux_hidden_state",
                                            "false is not supported: DFlash conditions on the target's tapped layers");
  if (const auto th = both.get_int("target_hidden_size"); th && *th != d.model.hidden_size)
    top.fail("target_hidden_size", fmt::format("{} differs from hidden_size {}; Tachyon needs the drafter's hidden "
                                               "size to equal the target's", *th, d.model.hidden_size));
  if (dflash) dflash->finish();
  return d;
}

DrafterConfig parse_drafter_config(const std::string& config_json, const std::string& origin) {
  json j;
  try {
    j = json::parse(config_json);
  } catch (const json::parse_error& e) {
    throw Error(fmt::format("{}: not valid JSON: {}", origin, e.what()));
  }
  return parse_drafter_config(j, origin);
}

void validate_drafter_for_target(DrafterConfig& d, const std::string& origin, const ModelConfig& target,
                                 const std::string& target_origin) {
  const ModelConfig& m = d.model;
  TACHYON_REQUIRE(m.hidden_size == target.hidden_size,
                  "{}: field 'hidden_size': the drafter has {} but the target ({}) has {}; a DFlash drafter runs on "
                  "the target's embedding and LM head, so they must be equal", origin, m.hidden_size, target_origin,
                  target.hidden_size);
  TACHYON_REQUIRE(m.vocab_size == target.vocab_size,
                  "{}: field 'vocab_size': the drafter has {} but the target ({}) has {}", origin, m.vocab_size,
                  target_origin, target.vocab_size);
  TACHYON_REQUIRE(d.num_target_layers == 0 || d.num_target_layers == target.num_layers,
                  "{}: field 'num_target_layers': the drafter was built for {} target layers but the target ({}) has {}",
                  origin, d.num_target_layers, target_origin, target.num_layers);
  if (d.target_layer_ids.empty()) d.target_layer_ids = build_target_layer_ids(target.num_layers, m.num_layers);
  for (int id : d.target_layer_ids)
    TACHYON_REQUIRE(id >= 0 && id < target.num_layers,
                    "{}: field 'target_layer_ids': layer {} (of [{}]) is outside the target ({}), whose layers are 0..{}",
                    origin, id, fmt::join(d.target_layer_ids, ", "), target_origin, target.num_layers - 1);
  for (int id : d.target_layer_ids)
    if (id == target.num_layers - 1)
      spdlog::info("{}: target_layer_ids taps the target's last layer ({}); Tachyon takes it before the final norm, "
                   "as vLLM and SGLang do (the Hugging Face reference takes hidden_states[{}] after it)",
                   origin, id, target.num_layers);
  TACHYON_REQUIRE(d.mask_token_id >= 0 && d.mask_token_id < target.vocab_size,
                  "{}: field 'mask_token_id': {} is outside the target's ({}) vocabulary of {} tokens", origin,
                  d.mask_token_id, target_origin, target.vocab_size);
}

}  // namespace tachyon
