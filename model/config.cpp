#include "model/config.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "model/config_fields.h"
#include "model/error.h"

namespace tachyon {

using nlohmann::json;

std::string_view family_name(ModelFamily f) {
  switch (f) {
    case ModelFamily::Qwen3Moe: return "qwen3_moe";
    case ModelFamily::Qwen3: return "qwen3";
    case ModelFamily::GptOss: return "gpt_oss";
  }
  return "?";
}

// ---- RoPE ------------------------------------------------------------------------------------------

std::vector<float> RopeConfig::inverse_frequencies() const {
  const int half = rotary_dim / 2;
  std::vector<float> inv(half);
  if (kind == RopeKind::Default) {
    for (int i = 0; i < half; ++i) inv[i] = static_cast<float>(1.0 / std::pow(theta, 2.0 * i / rotary_dim));
    return inv;
  }
  // YaRN ("NTK-by-parts"): dimensions that rotate many times over the original context keep their
  // frequency (extrapolation), slow ones are divided by `factor` (interpolation), with a linear ramp
  // between the two correction dimensions.
  const double dim = rotary_dim;
  auto correction_dim = [&](double rotations) {
    return dim * std::log(static_cast<double>(original_max_position) / (rotations * 2.0 * M_PI)) / (2.0 * std::log(theta));
  };
  double low = correction_dim(beta_fast), high = correction_dim(beta_slow);
  if (truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, dim - 1);
  if (low == high) high += 0.001;
  for (int i = 0; i < half; ++i) {
    const double pos_freq = std::pow(theta, 2.0 * i / dim);
    const double extrapolation = 1.0 / pos_freq, interpolation = 1.0 / (factor * pos_freq);
    const double ramp = std::clamp((i - low) / (high - low), 0.0, 1.0);
    const double keep = 1.0 - ramp;  // weight of the extrapolated (unchanged) frequency
    inv[i] = static_cast<float>(interpolation * (1.0 - keep) + extrapolation * keep);
  }
  return inv;
}

namespace {

double yarn_mscale(double scale, double mscale) { return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0; }

// Reads one RoPE parameter object (transformers 5.x `rope_parameters`, or 4.x `rope_scaling` merged
// with the top-level `rope_theta`).
RopeConfig parse_rope_object(ConfigFields& f, double theta_fallback, double partial_fallback, int head_dim,
                             int64_t max_position) {
  RopeConfig rope;
  std::string type = f.get_string("rope_type", "");
  std::string legacy_type = f.get_string("type", "");
  if (type.empty()) type = legacy_type.empty() ? "default" : legacy_type;
  rope.theta = f.get_double("rope_theta", theta_fallback);
  const double partial = f.get_double("partial_rotary_factor", partial_fallback);
  if (!(partial > 0.0 && partial <= 1.0)) f.fail("partial_rotary_factor", "must be in (0, 1]");
  rope.rotary_dim = static_cast<int>(head_dim * partial);
  if (rope.rotary_dim % 2 != 0 || rope.rotary_dim <= 0)
    f.fail("partial_rotary_factor", fmt::format("gives an odd or empty rotary dimension {} of head_dim {}", rope.rotary_dim, head_dim));
  if (rope.theta <= 1.0) f.fail("rope_theta", "must be greater than 1");
  if (type == "default") {
    rope.kind = RopeKind::Default;
  } else if (type == "yarn") {
    rope.kind = RopeKind::Yarn;
    rope.original_max_position = f.get_int("original_max_position_embeddings", 0);
    if (rope.original_max_position <= 0) f.fail("original_max_position_embeddings", "YaRN needs it (> 0)");
    rope.factor = f.get_double("factor", 0.0);
    if (!f.has("factor")) rope.factor = static_cast<double>(max_position) / rope.original_max_position;
    if (rope.factor < 1.0) f.fail("factor", "YaRN factor must be >= 1");
    rope.beta_fast = f.get_double("beta_fast", 32.0);
    rope.beta_slow = f.get_double("beta_slow", 1.0);
    rope.truncate = f.get_bool("truncate", true);
    const double mscale = f.get_double("mscale", 0.0), mscale_all_dim = f.get_double("mscale_all_dim", 0.0);
    if (f.has("attention_factor")) {
      rope.attention_factor = f.get_double("attention_factor", 1.0);
    } else if (mscale != 0.0 && mscale_all_dim != 0.0) {
      rope.attention_factor = yarn_mscale(rope.factor, mscale) / yarn_mscale(rope.factor, mscale_all_dim);
    } else {
      rope.attention_factor = yarn_mscale(rope.factor, 1.0);
    }
  } else {
    f.fail(legacy_type.empty() ? "rope_type" : "type",
           fmt::format("RoPE type '{}' is not supported (supported: default, yarn)", type));
  }
  f.finish();
  return rope;
}

// RoPE for a whole model: 5.x `rope_parameters` (possibly one object per layer type), or 4.x
// `rope_theta` + `rope_scaling` + `partial_rotary_factor` at the top level.
struct RopeByLayerType {
  RopeConfig full, sliding;
};

RopeByLayerType parse_rope(ConfigFields& top, double default_theta, int head_dim, int64_t max_position) {
  const double theta = top.get_double("rope_theta", default_theta);
  const double partial = top.get_double("partial_rotary_factor", 1.0);
  const json* params = top.get_raw("rope_parameters");
  const json* scaling = top.get_raw("rope_scaling");
  const std::string where = top.where();
  if (params && scaling) top.fail("rope_scaling", "both rope_parameters and rope_scaling are given; keep one");
  const json* obj = params ? params : scaling;
  const char* obj_name = params ? "rope_parameters" : "rope_scaling";
  RopeByLayerType out;
  if (!obj) {
    json empty = json::object();
    ConfigFields f(empty, where);
    out.full = out.sliding = parse_rope_object(f, theta, partial, head_dim, max_position);
    return out;
  }
  if (obj->contains("full_attention") || obj->contains("sliding_attention")) {
    for (auto it = obj->begin(); it != obj->end(); ++it) {
      if (it.key() != "full_attention" && it.key() != "sliding_attention")
        top.fail(obj_name, fmt::format("unknown layer type '{}'", it.key()));
      ConfigFields f(it.value(), fmt::format("{}: {}.{}", where, obj_name, it.key()));
      RopeConfig r = parse_rope_object(f, theta, partial, head_dim, max_position);
      (it.key() == "full_attention" ? out.full : out.sliding) = r;
    }
    if (!obj->contains("full_attention")) out.full = out.sliding;
    if (!obj->contains("sliding_attention")) out.sliding = out.full;
    return out;
  }
  ConfigFields f(*obj, fmt::format("{}: {}", where, obj_name));
  out.full = out.sliding = parse_rope_object(f, theta, partial, head_dim, max_position);
  return out;
}

// Fields present in most HF configs that do not change inference.
void ignore_common(ConfigFields& f) {
  f.ignore({"architectures", "dtype", "torch_dtype", "transformers_version", "initializer_range", "use_cache",
            "output_router_logits", "router_aux_loss_coef", "attention_dropout", "pad_token_id", "_name_or_path",
            "id2label", "label2id", "return_dict", "output_hidden_states", "output_attentions", "auto_map",
            "tokenizer_class", "use_return_dict", "chunk_size_feed_forward", "is_encoder_decoder"});
}

std::vector<bool> parse_layer_types(ConfigFields& f, int num_layers, bool use_sliding_window, int64_t max_window_layers) {
  std::vector<std::string> types = f.get_string_list("layer_types");
  std::vector<bool> sliding(num_layers, false);
  if (!types.empty()) {
    if (static_cast<int>(types.size()) != num_layers)
      f.fail("layer_types", fmt::format("has {} entries for {} layers", types.size(), num_layers));
    for (int i = 0; i < num_layers; ++i) {
      if (types[i] == "sliding_attention") sliding[i] = true;
      else if (types[i] != "full_attention")
        f.fail("layer_types", fmt::format("entry {} is '{}' (expected full_attention or sliding_attention)", i, types[i]));
    }
    return sliding;
  }
  // No layer_types: the window goes to layers >= max_window_layers (all when it is negative).
  if (use_sliding_window)
    for (int i = 0; i < num_layers; ++i) sliding[i] = max_window_layers < 0 || i >= max_window_layers;
  return sliding;
}

void read_special_ids(ConfigFields& f, ModelConfig& c) {
  c.bos_token_id = static_cast<int32_t>(f.get_int("bos_token_id", -1));
  for (int64_t id : f.get_int_list("eos_token_id")) c.eos_token_ids.push_back(static_cast<int32_t>(id));
}

void require_silu(ConfigFields& f) {
  const std::string act = f.get_string("hidden_act", "silu");
  if (act != "silu") f.fail("hidden_act", fmt::format("'{}' is not supported (only silu)", act));
}

// Fills the per-layer attention from sliding flags and a rope per layer type.
void fill_layers(ModelConfig& c, const std::vector<bool>& sliding, int sliding_window, const RopeByLayerType& rope,
                 int q_heads, int kv_heads, bool sinks) {
  c.layers.resize(c.num_layers);
  for (int i = 0; i < c.num_layers; ++i) {
    LayerConfig& l = c.layers[i];
    l.sliding = sliding[i];
    l.sliding_window = sliding[i] ? sliding_window : 0;
    l.sinks = sinks;
    l.num_q_heads = q_heads;
    l.num_kv_heads = kv_heads;
    l.rope = sliding[i] ? rope.sliding : rope.full;
  }
}

void parse_common_shape(ConfigFields& f, ModelConfig& c) {
  c.vocab_size = static_cast<int>(f.require_int("vocab_size"));
  c.hidden_size = static_cast<int>(f.require_int("hidden_size"));
  c.num_layers = static_cast<int>(f.require_int("num_hidden_layers"));
  c.max_position_embeddings = f.get_int("max_position_embeddings", 32768);
  c.rms_norm_eps = static_cast<float>(f.get_double("rms_norm_eps", c.rms_norm_eps));
  c.tie_word_embeddings = f.get_bool("tie_word_embeddings", false);
  if (c.vocab_size <= 0) f.fail("vocab_size", "must be positive");
  if (c.hidden_size <= 0) f.fail("hidden_size", "must be positive");
  if (c.num_layers <= 0) f.fail("num_hidden_layers", "must be positive");
  if (!(c.rms_norm_eps > 0.0f)) f.fail("rms_norm_eps", "must be positive");
}

// Query and KV heads and head dims; returns {q_heads, kv_heads}.
std::pair<int, int> parse_heads(ConfigFields& f, ModelConfig& c) {
  const int q_heads = static_cast<int>(f.require_int("num_attention_heads"));
  const int kv_heads = static_cast<int>(f.get_int("num_key_value_heads", q_heads));
  if (q_heads <= 0) f.fail("num_attention_heads", "must be positive");
  if (kv_heads <= 0 || q_heads % kv_heads != 0)
    f.fail("num_key_value_heads", fmt::format("{} does not divide num_attention_heads {}", kv_heads, q_heads));
  c.head_dim = static_cast<int>(f.get_int("head_dim", c.hidden_size / q_heads));
  if (c.head_dim <= 0 || c.head_dim % 2) f.fail("head_dim", fmt::format("must be positive and even, got {}", c.head_dim));
  c.v_head_dim = c.head_dim;
  c.attention_scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  return {q_heads, kv_heads};
}

// Qwen3-MoE and dense Qwen3 share everything but the MLP.
void parse_qwen3(ConfigFields& f, ModelConfig& c, bool moe) {
  parse_common_shape(f, c);
  auto [q_heads, kv_heads] = parse_heads(f, c);
  require_silu(f);
  c.qk_norm = true;
  c.attention_bias = f.get_bool("attention_bias", false);
  const RopeByLayerType rope = parse_rope(f, 10000.0, c.head_dim, c.max_position_embeddings);
  const bool use_sliding = f.get_bool("use_sliding_window", false);
  const int64_t window = f.get_int("sliding_window", 0);
  // Dense Qwen3 (transformers 5.x) derives layer_types from max_window_layers; Qwen3-MoE ignores that
  // field and gives the window to every layer when use_sliding_window is set.
  const int64_t max_window_layers = f.get_int("max_window_layers", -1);
  std::vector<bool> sliding = parse_layer_types(f, c.num_layers, use_sliding, moe ? -1 : max_window_layers);
  const bool any_sliding = std::find(sliding.begin(), sliding.end(), true) != sliding.end();
  if (any_sliding && window <= 0) f.fail("sliding_window", "sliding layers need a positive window");
  fill_layers(c, sliding, any_sliding ? static_cast<int>(window) : 0, rope, q_heads, kv_heads, /*sinks=*/false);
  c.dense_intermediate_size = static_cast<int>(f.get_int("intermediate_size", 0));
  read_special_ids(f, c);
  if (!moe) {
    if (c.dense_intermediate_size <= 0) f.fail("intermediate_size", "required (> 0)");
    return;
  }
  c.num_experts = static_cast<int>(f.has("num_experts") ? f.require_int("num_experts") : f.require_int("num_local_experts"));
  f.ignore({"num_experts", "num_local_experts"});
  c.top_k = static_cast<int>(f.require_int("num_experts_per_tok"));
  c.moe_intermediate_size = static_cast<int>(f.require_int("moe_intermediate_size"));
  c.norm_topk_prob = f.get_bool("norm_topk_prob", false);
  c.router = RouterKind::SoftmaxTopK;
  const int64_t sparse_step = f.get_int("decoder_sparse_step", 1);
  if (sparse_step <= 0) f.fail("decoder_sparse_step", "must be positive");
  std::vector<int64_t> dense_layers = f.get_int_list("mlp_only_layers");
  for (int i = 0; i < c.num_layers; ++i) {
    const bool listed = std::find(dense_layers.begin(), dense_layers.end(), i) != dense_layers.end();
    c.layers[i].moe = !listed && c.num_experts > 0 && (i + 1) % sparse_step == 0;
  }
  for (int64_t i : dense_layers)
    if (i < 0 || i >= c.num_layers) f.fail("mlp_only_layers", fmt::format("layer {} out of range", i));
  bool any_dense = false;
  for (const auto& l : c.layers) any_dense |= !l.moe;
  if (any_dense && c.dense_intermediate_size <= 0) f.fail("intermediate_size", "dense layers need it (> 0)");
}

void parse_gpt_oss(ConfigFields& f, ModelConfig& c) {
  parse_common_shape(f, c);
  auto [q_heads, kv_heads] = parse_heads(f, c);
  require_silu(f);
  c.attention_bias = f.get_bool("attention_bias", true);
  c.tie_word_embeddings = c.tie_word_embeddings;  // read by parse_common_shape; gpt-oss ships untied
  // transformers fills in gpt-oss's YaRN when the config has none.
  RopeByLayerType rope;
  if (f.has("rope_parameters") || f.has("rope_scaling")) {
    rope = parse_rope(f, 150000.0, c.head_dim, c.max_position_embeddings);
  } else {
    json yarn = {{"rope_type", "yarn"}, {"factor", 32.0}, {"beta_fast", 32.0}, {"beta_slow", 1.0},
                 {"truncate", false}, {"original_max_position_embeddings", 4096}};
    const double theta = f.get_double("rope_theta", 150000.0);
    ConfigFields rf(yarn, f.where() + ": default gpt-oss rope");
    rope.full = rope.sliding = parse_rope_object(rf, theta, 1.0, c.head_dim, c.max_position_embeddings);
  }
  const int64_t window = f.get_int("sliding_window", 128);
  std::vector<bool> sliding(c.num_layers);
  if (f.has("layer_types")) {
    sliding = parse_layer_types(f, c.num_layers, false, -1);
  } else {
    for (int i = 0; i < c.num_layers; ++i) sliding[i] = (i + 1) % 2 != 0;  // even layers slide
  }
  if (window <= 0) f.fail("sliding_window", "must be positive");
  fill_layers(c, sliding, static_cast<int>(window), rope, q_heads, kv_heads, /*sinks=*/true);
  c.num_experts = static_cast<int>(f.has("num_local_experts") ? f.require_int("num_local_experts") : f.require_int("num_experts"));
  f.ignore({"num_experts", "num_local_experts"});
  c.top_k = static_cast<int>(f.has("num_experts_per_tok") ? f.require_int("num_experts_per_tok") : f.require_int("experts_per_token"));
  f.ignore({"num_experts_per_tok", "experts_per_token"});
  c.moe_intermediate_size = static_cast<int>(f.require_int("intermediate_size"));
  c.router = RouterKind::TopKSoftmax;
  c.router_bias = true;
  c.expert_bias = true;
  c.swiglu = SwigluKind::GptOssClamped;
  c.swiglu_limit = static_cast<float>(f.get_double("swiglu_limit", 7.0));
  c.swiglu_alpha = static_cast<float>(f.get_double("swiglu_alpha", 1.702));
  for (auto& l : c.layers) l.moe = true;
  read_special_ids(f, c);
  f.ignore({"initial_context_length"});  // the original training context; YaRN carries what matters
  if (const json* q = f.get_raw("quantization_config")) {
    ConfigFields qf(*q, f.where() + ": quantization_config");
    const std::string method = qf.get_string("quant_method", "");
    if (method != "mxfp4") qf.fail("quant_method", fmt::format("'{}' is not supported for gpt-oss (expected mxfp4)", method));
    qf.ignore({"modules_to_not_convert", "dequantize"});
    qf.finish();
    c.shipped_expert_format = "mxfp4";
  }
}

void validate(const ModelConfig& c, const std::string& origin) {
  if (c.has_moe()) {
    TACHYON_REQUIRE(c.top_k > 0 && c.top_k <= c.num_experts, "{}: field 'num_experts_per_tok': {} must be in [1, {}]",
                    origin, c.top_k, c.num_experts);
    TACHYON_REQUIRE(c.moe_intermediate_size > 0, "{}: the MoE intermediate size must be positive", origin);
  }
  for (const auto& l : c.layers)
    TACHYON_REQUIRE(l.rope.rotary_dim <= c.head_dim, "{}: rotary dimension {} exceeds head_dim {}", origin,
                    l.rope.rotary_dim, c.head_dim);
}

}  // namespace

int ModelConfig::max_kv_heads() const {
  int m = 0;
  for (const auto& l : layers) m = std::max(m, l.num_kv_heads);
  return m;
}

int64_t ModelConfig::total_parameters() const {
  const int64_t H = hidden_size;
  int64_t total = int64_t(vocab_size) * H * (tie_word_embeddings ? 1 : 2) + H;  // embeddings, head, final norm
  for (const auto& l : layers) {
    const int64_t q = int64_t(l.num_q_heads) * head_dim, k = int64_t(l.num_kv_heads) * head_dim,
                  v = int64_t(l.num_kv_heads) * v_head_dim, o_in = int64_t(l.num_q_heads) * v_head_dim;
    total += (q + k + v) * H + o_in * H + 2 * H;
    if (attention_bias) total += q + k + v + H;
    if (qk_norm) total += 2 * head_dim;
    if (l.sinks) total += l.num_q_heads;
    if (l.moe) {
      const int64_t I = moe_intermediate_size;
      total += int64_t(num_experts) * (3 * H * I + (expert_bias ? 2 * I + H : 0)) + int64_t(num_experts) * H;
      if (router_bias || router_correction_bias) total += num_experts;
    } else {
      total += 3 * H * dense_intermediate_size;
    }
  }
  return total;
}

int64_t ModelConfig::active_parameters() const {
  int64_t total = total_parameters();
  const int64_t H = hidden_size, I = moe_intermediate_size;
  for (const auto& l : layers)
    if (l.moe) total -= int64_t(num_experts - top_k) * (3 * H * I + (expert_bias ? 2 * I + H : 0));
  return total;
}

ModelConfig parse_model_config(const json& j, const std::string& origin) {
  ConfigFields f(j, origin);
  ModelConfig c;
  c.model_type = f.get_string("model_type", "");
  ignore_common(f);
  if (c.model_type == "qwen3_moe") {
    c.family = ModelFamily::Qwen3Moe;
    parse_qwen3(f, c, /*moe=*/true);
  } else if (c.model_type == "qwen3") {
    c.family = ModelFamily::Qwen3;
    parse_qwen3(f, c, /*moe=*/false);
  } else if (c.model_type == "gpt_oss") {
    c.family = ModelFamily::GptOss;
    parse_gpt_oss(f, c);
  } else {
    f.fail("model_type", fmt::format("'{}' is not supported (supported: qwen3_moe, qwen3, gpt_oss)", c.model_type));
  }
  f.finish();
  validate(c, origin);
  return c;
}

ModelConfig parse_model_config(const json& j, const std::string& origin, const std::set<std::string>& caller_fields) {
  if (!j.is_object()) return parse_model_config(j, origin);  // the usual error
  json rest = j;
  for (const std::string& name : caller_fields) rest.erase(name);
  return parse_model_config(rest, origin);
}

ModelConfig parse_model_config(const std::string& config_json, const std::string& origin) {
  json j;
  try {
    j = json::parse(config_json);
  } catch (const json::parse_error& e) {
    throw Error(fmt::format("{}: not valid JSON: {}", origin, e.what()));
  }
  return parse_model_config(j, origin);
}

}  // namespace tachyon
