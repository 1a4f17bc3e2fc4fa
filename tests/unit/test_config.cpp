// Model config parsing: both transformers spellings, every family, and errors that name the field.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "model/config.h"
#include "model/error.h"
#include "test_util.h"

using namespace tachyon;
using nlohmann::json;

namespace {
json qwen3_moe_base() {
  return json::parse(R"({"model_type":"qwen3_moe","vocab_size":400,"hidden_size":64,"num_hidden_layers":4,
    "num_attention_heads":4,"num_key_value_heads":2,"head_dim":16,"intermediate_size":96,"moe_intermediate_size":32,
    "num_experts":8,"num_experts_per_tok":2,"norm_topk_prob":true,"mlp_only_layers":[0,1],"rms_norm_eps":1e-6,
    "rope_theta":1000000.0,"max_position_embeddings":4096,"tie_word_embeddings":false})");
}
std::string error_of(const json& j) {
  try {
    parse_model_config(j, "config.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("config: every parity fixture's config.json parses to the expected shape") {
  const ModelConfig q = parse_model_config(test::read_file(test::fixture("parity/qwen3_moe/config.json")), "q");
  CHECK(q.family == ModelFamily::Qwen3Moe);
  CHECK(q.num_experts == 8);
  CHECK(q.top_k == 2);
  CHECK(!q.layers[0].moe);
  CHECK(!q.layers[1].moe);
  CHECK(q.layers[2].moe);
  CHECK(q.layers[0].rope.theta == 1e6);
  CHECK(q.qk_norm);
  const ModelConfig t = parse_model_config(test::read_file(test::fixture("parity/qwen3_moe_tied_sharded/config.json")), "t");
  CHECK(t.tie_word_embeddings);
  CHECK(t.num_experts == 8);  // 4.x spelling num_experts
  for (const auto& l : t.layers) {
    CHECK(l.sliding);
    CHECK(l.sliding_window == 6);
  }
  const ModelConfig g = parse_model_config(test::read_file(test::fixture("parity/gpt_oss/config.json")), "g");
  CHECK(g.family == ModelFamily::GptOss);
  CHECK(g.router == RouterKind::TopKSoftmax);
  CHECK(g.swiglu == SwigluKind::GptOssClamped);
  CHECK(g.layers[0].sliding);
  CHECK(!g.layers[1].sliding);
  CHECK(g.layers[0].sinks);
  CHECK(g.layers[0].rope.kind == RopeKind::Yarn);
  CHECK(g.shipped_expert_format == "mxfp4");
  // YaRN inverse frequencies of the fixture (transformers' values, from the fixture generator's notes).
  const std::vector<float> expected = {1.0f, 0.225418f, 0.0508133f, 0.00679496f, 4.56484e-4f, 1.81883e-5f, 4.09998e-6f, 9.24209e-7f};
  const std::vector<float> inv = g.layers[0].rope.inverse_frequencies();
  REQUIRE(inv.size() == expected.size());
  for (size_t i = 0; i < inv.size(); ++i) CHECK(inv[i] == doctest::Approx(expected[i]).epsilon(1e-5));
  CHECK(g.layers[0].rope.attention_factor == doctest::Approx(1.34657).epsilon(1e-5));
}

TEST_CASE("config: transformers 4.x and 5.x spellings give the same model") {
  json v4 = qwen3_moe_base();
  json v5 = qwen3_moe_base();
  v5.erase("rope_theta");
  v5.erase("num_experts");
  v5["num_local_experts"] = 8;
  v5["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 1000000.0}};
  const ModelConfig a = parse_model_config(v4, "v4"), b = parse_model_config(v5, "v5");
  CHECK(a.num_experts == b.num_experts);
  CHECK(a.layers[3].rope.theta == b.layers[3].rope.theta);
  CHECK(a.total_parameters() == b.total_parameters());
  CHECK(a.active_parameters() < a.total_parameters());
}

TEST_CASE("config: unknown, missing, mistyped and inconsistent fields are named") {
  json j = qwen3_moe_base();
  j["frobnicate"] = 3;
  CHECK(error_of(j).find("unknown field 'frobnicate'") != std::string::npos);
  j = qwen3_moe_base();
  j.erase("hidden_size");
  CHECK(error_of(j).find("'hidden_size': required") != std::string::npos);
  j = qwen3_moe_base();
  j["num_key_value_heads"] = 3;
  CHECK(error_of(j).find("'num_key_value_heads'") != std::string::npos);
  j = qwen3_moe_base();
  j["num_experts_per_tok"] = 9;
  CHECK(error_of(j).find("num_experts_per_tok") != std::string::npos);
  j = qwen3_moe_base();
  j["rms_norm_eps"] = "small";
  CHECK(error_of(j).find("'rms_norm_eps': expected a number") != std::string::npos);
  j = qwen3_moe_base();
  j["rope_scaling"] = {{"rope_type", "dynamic"}, {"factor", 2.0}};
  CHECK(error_of(j).find("'dynamic' is not supported") != std::string::npos);
  j = qwen3_moe_base();
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 1024}, {"bogus", 1}};
  CHECK(error_of(j).find("unknown field 'bogus'") != std::string::npos);
  j = qwen3_moe_base();
  j["model_type"] = "llama";
  CHECK(error_of(j).find("'llama' is not supported") != std::string::npos);
  j = qwen3_moe_base();
  j["hidden_act"] = "gelu";
  CHECK(error_of(j).find("'hidden_act'") != std::string::npos);
  j = qwen3_moe_base();
  j["mlp_only_layers"] = {0, 7};
  CHECK(error_of(j).find("mlp_only_layers") != std::string::npos);
  CHECK(error_of(json::array()).find("expected a JSON object") != std::string::npos);
  CHECK_THROWS_WITH_AS(parse_model_config(std::string("{not json"), "cfg.json"), doctest::Contains("cfg.json: not valid JSON"), Error);
}

TEST_CASE("config: YaRN parameters follow transformers' rules") {
  json j = qwen3_moe_base();
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 1024}};
  const ModelConfig c = parse_model_config(j, "yarn");
  const RopeConfig& r = c.layers[0].rope;
  CHECK(r.kind == RopeKind::Yarn);
  CHECK(r.truncate);  // transformers' default
  CHECK(r.attention_factor == doctest::Approx(0.1 * std::log(4.0) + 1.0));
  const std::vector<float> inv = r.inverse_frequencies();
  // The fastest dimension keeps its frequency, the slowest is divided by the factor.
  CHECK(inv.front() == doctest::Approx(1.0f));
  CHECK(inv.back() == doctest::Approx(std::pow(1e6, -14.0 / 16.0) / 4.0).epsilon(1e-4));
}
