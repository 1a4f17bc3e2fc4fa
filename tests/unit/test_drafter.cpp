// The DFlash drafter on the CPU: parity with the PyTorch reference (scripts/dflash/reference_drafter.py,
// fixtures made by scripts/dflash/make_drafter_fixture.py), the tapped-layer index against transformers'
// hidden states, rollback and batching, and the config's resolution and errors.
//
// Each fixture drafter (tests/fixtures/dflash/{base,swa,mimo}/drafter) is converted with `tachyon
// convert --drafter`; the target is tests/fixtures/parity/qwen3_moe, converted with `tachyon convert`.
// The context is the target's taps of layers [0, 1, 2] as transformers computed them.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "comm/collectives.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "model/drafter_config.h"
#include "model/error.h"
#include "model/safetensors.h"
#include "runtime/cpu_drafter.h"
#include "runtime/cpu_target_step.h"
#include "test_util.h"

using namespace tachyon;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// The reference runs in float32 (with other summation orders and float64 RoPE angles) and is within
// 1e-5 of a float64 run; the fixtures' greedy gaps are >= 1e-3 (their README), so tokens must match.
constexpr float kLogitAtol = 2e-4f;
constexpr float kLogitRtol = 1e-4f;

template <typename T>
std::vector<T> tensor(const SafetensorsFile& f, const char* name) {
  const StTensor& t = f.tensors().at(name);
  const auto* p = reinterpret_cast<const T*>(t.data);
  return std::vector<T>(p, p + t.numel());
}

struct Taps {
  std::vector<int32_t> prompt, layer_ids;
  std::vector<float> taps;             // [T, K, H]: the context features of the fixture
  std::vector<float> layer_outputs;    // [N, T, H]: each target layer's output (hooks)
  std::vector<float> hf_hidden_states; // [N + 1, T, H]: transformers' hidden_states
};

Taps load_taps() {
  SafetensorsFile f(test::fixture("dflash/target_taps.safetensors"));
  return {tensor<int32_t>(f, "prompt_ids"), tensor<int32_t>(f, "target_layer_ids"), tensor<float>(f, "taps"),
          tensor<float>(f, "layer_outputs"), tensor<float>(f, "hf_hidden_states")};
}

struct Expected {
  std::vector<int32_t> positions, block_sizes, anchors, tokens;
  std::vector<float> logits;  // the cases' rows, concatenated: [sum(B - 1), V]
};

Expected load_expected(const std::string& variant) {
  SafetensorsFile f(test::fixture("dflash/" + variant + "/expected.safetensors"));
  return {tensor<int32_t>(f, "positions"), tensor<int32_t>(f, "block_sizes"), tensor<int32_t>(f, "anchors"),
          tensor<int32_t>(f, "tokens"), tensor<float>(f, "logits")};
}

// Converted checkpoints of the target and one drafter, in a temporary directory.
struct Converted {
  test::TempDir tmp;
  std::string target, drafter;

  explicit Converted(const std::string& variant, const std::string& drafter_dir = "", const std::string& flags = "")
      : tmp("drafter-" + variant), target(tmp.file("target.h5")), drafter(tmp.file("drafter.h5")) {
    std::string log;
    REQUIRE_MESSAGE(test::run_tachyon("convert --from " + test::fixture("parity/qwen3_moe") + " --to " + target, &log) == 0, log);
    const std::string from = drafter_dir.empty() ? test::fixture("dflash/" + variant + "/drafter") : drafter_dir;
    REQUIRE_MESSAGE(test::run_tachyon("convert --drafter --from " + from + " --to " + drafter + " " + flags, &log) == 0, log);
  }
  CpuDrafter load(int slots = 2, int capacity = 64) const {
    return CpuDrafter::load(CheckpointReader(drafter), CheckpointReader(target), slots, capacity);
  }
};

// Appends the fixture's taps to `slot` until it holds `length` positions.
void grow_context(CpuDrafter& d, int slot, int length, const Taps& t) {
  const int have = d.context_length(slot);
  const size_t row = t.taps.size() / t.prompt.size();  // K * H
  d.add_context(slot, have, length - have, &t.taps[have * row]);
}

// Drafts every case of a variant in one slot (context grown as the cases need) and compares.
void check_variant(const std::string& variant) {
  const Converted c(variant);
  CpuDrafter d = c.load();
  const Taps t = load_taps();
  const Expected e = load_expected(variant);
  const size_t V = d.config().model.vocab_size;
  float worst = 0.0f;
  size_t row = 0;
  for (size_t i = 0; i < e.positions.size(); ++i) {
    const int p = e.positions[i], B = e.block_sizes[i];
    if (d.context_length(0) > p) d.rollback(0, p);
    grow_context(d, 0, p, t);
    const Draft out = d.draft({{0, e.anchors[i], p, B}}).at(0);
    REQUIRE(out.logits.size() == (B - 1) * V);
    for (int r = 0; r < B - 1; ++r, ++row) {
      for (size_t v = 0; v < V; ++v) {
        const float ours = out.logits[r * V + v], theirs = e.logits[row * V + v];
        const float diff = std::fabs(ours - theirs);
        worst = std::max(worst, diff);
        if (diff > kLogitAtol + kLogitRtol * std::fabs(theirs))
          FAIL_CHECK(variant, " case ", i, " (p ", p, ", B ", B, ") row ", r, " token ", v, ": ", ours, " vs ", theirs);
      }
      CHECK_MESSAGE(out.tokens[r] == e.tokens[row], variant, " case ", i, " draft ", r);
    }
  }
  CHECK(row * V == e.logits.size());
  MESSAGE(variant, ": max |logit difference| vs the PyTorch reference = ", worst);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

json base_config() { return json::parse(test::read_file(test::fixture("dflash/base/drafter/config.json"))); }
ModelConfig target_config() {
  return parse_model_config(test::read_file(test::fixture("parity/qwen3_moe/config.json")), "target/config.json");
}
std::string validation_error(const json& drafter, const ModelConfig& target) {
  return error_of([&] {
    DrafterConfig d = parse_drafter_config(drafter, "drafter/config.json");
    validate_drafter_for_target(d, "drafter/config.json", target, "target/config.json");
  });
}

}  // namespace

TEST_CASE("drafter parity with the PyTorch reference: base (full attention, non-causal block)") {
  check_variant("base");
}

TEST_CASE("drafter parity with the PyTorch reference: swa (sliding causal layer + full non-causal layer)") {
  check_variant("swa");
}

TEST_CASE("drafter parity with the PyTorch reference: mimo (use_swa non-causal, sinks, value scale, partial RoPE, "
          "biases, own mask embedding)") {
  check_variant("mimo");
}

TEST_CASE("drafter: the tapped-layer index is the decoder layer whose output is taken (HF hidden_states[id + 1])") {
  const Converted c("base");
  const Taps t = load_taps();
  CheckpointReader reader(c.target);
  const ModelConfig config = parse_model_config(reader.config_json(), c.target);
  const size_t T = t.prompt.size(), H = config.hidden_size, N = config.num_layers;
  comm::SingleProcess comm;
  const ShardPlan plan = make_shard_plan(config, 0, 1, MoeParallel::Tp);
  std::vector<int> all_layers(N);
  for (size_t l = 0; l < N; ++l) all_layers[l] = static_cast<int>(l);
  CpuTargetStep step(config, plan, load_target_weights(reader, config, plan), comm, 1, 64, all_layers);
  StepBatch prefill;
  prefill.seqs.push_back({0, 0, static_cast<int32_t>(T), static_cast<int32_t>(T) - 1});
  prefill.tokens = t.prompt;
  StepOutput out;
  step.run(prefill, out);
  REQUIRE(out.taps.size() == T * N * H);
  auto max_diff = [&](size_t layer, const float* other) {  // other: [T, H]
    float m = 0.0f;
    for (size_t i = 0; i < T; ++i)
      for (size_t h = 0; h < H; ++h) m = std::max(m, std::fabs(out.taps[(i * N + layer) * H + h] - other[i * H + h]));
    return m;
  };
  for (size_t l = 0; l < N; ++l) {
    // Tachyon's tap of layer l is that layer's output, the residual stream before any final norm.
    CHECK_MESSAGE(max_diff(l, &t.layer_outputs[l * T * H]) < 2e-4f, "layer ", l);
    // Hugging Face's hidden_states[l + 1] is the same for every layer but the last (which HF returns
    // after the final norm), and hidden_states[l] (the off-by-one) is far from it.
    if (l + 1 < N) CHECK_MESSAGE(max_diff(l, &t.hf_hidden_states[(l + 1) * T * H]) < 2e-4f, "layer ", l);
    CHECK_MESSAGE(max_diff(l, &t.hf_hidden_states[l * T * H]) > 0.1f, "layer ", l);
  }
  CHECK(max_diff(N - 1, &t.hf_hidden_states[N * T * H]) > 0.1f);

  // Fed the target's own taps (as StepOutput::taps with tap_layers = target_layer_ids would give them),
  // the drafter drafts the fixture's tokens.
  CpuDrafter d = c.load(1);
  const DrafterConfig& dc = d.config();
  REQUIRE(dc.target_layer_ids == std::vector<int>{0, 1, 2});
  const size_t K = dc.num_taps();
  std::vector<float> taps(T * K * H);
  for (size_t i = 0; i < T; ++i)
    for (size_t k = 0; k < K; ++k)
      std::copy_n(&out.taps[(i * N + dc.target_layer_ids[k]) * H], H, &taps[(i * K + k) * H]);
  const Expected e = load_expected("base");
  d.add_context(0, 0, static_cast<int>(T), taps.data());
  const size_t last = e.positions.size() - 2;  // the case p = T, B = 8
  REQUIRE(e.positions[last] == static_cast<int32_t>(T));
  const Draft draft = d.draft({{0, e.anchors[last], static_cast<int32_t>(T), e.block_sizes[last]}}).at(0);
  size_t row = 0;
  for (size_t i = 0; i < last; ++i) row += e.block_sizes[i] - 1;
  for (size_t r = 0; r < draft.tokens.size(); ++r) CHECK(draft.tokens[r] == e.tokens[row + r]);
}

TEST_CASE("drafter: rollback, chunked context and batching give bit-identical drafts") {
  const Converted c("swa");
  const Taps t = load_taps();
  const Expected e = load_expected("swa");
  const int T = static_cast<int>(t.prompt.size());
  const size_t row = t.taps.size() / T;
  const int32_t anchor11 = t.prompt[11], anchor_end = e.anchors[2];

  CpuDrafter fresh = c.load(1);
  grow_context(fresh, 0, 11, t);
  const Draft at11 = fresh.draft({{0, anchor11, 11, 8}}).at(0);
  grow_context(fresh, 0, T, t);
  const Draft at_end = fresh.draft({{0, anchor_end, T, 8}}).at(0);

  SUBCASE("rollback to 11 drafts as if only 11 positions had been added; re-adding restores the rest") {
    CpuDrafter d = c.load(1);
    grow_context(d, 0, T, t);
    d.draft({{0, anchor_end, T, 8}});
    d.rollback(0, 11);
    CHECK(d.context_length(0) == 11);
    CHECK(d.draft({{0, anchor11, 11, 8}}).at(0).logits == at11.logits);
    grow_context(d, 0, T, t);
    CHECK(d.draft({{0, anchor_end, T, 8}}).at(0).logits == at_end.logits);
    CHECK_THROWS_WITH_AS(d.rollback(0, T + 1), doctest::Contains("holds 24"), Error);
  }
  SUBCASE("context added in chunks, or for two slots at once, equals one add") {
    CpuDrafter d = c.load(2);
    d.add_context({{0, 0, 5, &t.taps[0]}, {1, 0, T, &t.taps[0]}, {0, 5, 6, &t.taps[5 * row]}});
    d.add_context(0, 11, T - 11, &t.taps[11 * row]);
    const std::vector<Draft> both = d.draft({{1, anchor_end, T, 8}, {0, anchor_end, T, 8}});
    CHECK(both[0].logits == at_end.logits);
    CHECK(both[1].logits == at_end.logits);
    CHECK(both[0].tokens == at_end.tokens);
  }
  SUBCASE("a batch of drafts equals the drafts one at a time") {
    CpuDrafter d = c.load(2);
    grow_context(d, 0, 11, t);
    grow_context(d, 1, T, t);
    const std::vector<Draft> both = d.draft({{0, anchor11, 11, 8}, {1, anchor_end, T, 8}});
    CHECK(both[0].logits == at11.logits);
    CHECK(both[1].logits == at_end.logits);
    // The config's block size is the default.
    CHECK(d.draft({{0, anchor11, 11, 0}}).at(0).logits == at11.logits);
  }
  SUBCASE("misuse is refused with a message") {
    CpuDrafter d = c.load(2, 32);
    grow_context(d, 0, 11, t);
    CHECK_THROWS_WITH_AS(d.draft({{0, anchor11, 12, 8}}), doctest::Contains("holds context for 11"), Error);
    CHECK_THROWS_WITH_AS(d.draft({{0, anchor11, 11, 17}}), doctest::Contains("block size 17"), Error);
    CHECK_THROWS_WITH_AS(d.draft({{0, anchor11, 11, 8}, {0, anchor11, 11, 8}}), doctest::Contains("twice"), Error);
    CHECK_THROWS_WITH_AS(d.draft({{0, 400, 11, 8}}), doctest::Contains("anchor token 400"), Error);
    CHECK_THROWS_WITH_AS(d.add_context(0, 12, 1, &t.taps[0]), doctest::Contains("starts at position 12"), Error);
    CHECK_THROWS_WITH_AS(d.add_context(1, 0, 33, t.taps.data()), doctest::Contains("capacity 32"), Error);
    grow_context(d, 1, 24, t);
    CHECK_THROWS_WITH_AS(d.draft({{1, anchor_end, 24, 16}}), doctest::Contains("does not fit the capacity 32"), Error);
    CHECK(d.context_length(0) == 11);  // a refused add changes nothing
  }
}

TEST_CASE("drafter config: the fixtures resolve per-layer attention as documented") {
  const ModelConfig target = target_config();
  auto parse = [&](const std::string& variant) {
    DrafterConfig d = parse_drafter_config(test::read_file(test::fixture("dflash/" + variant + "/drafter/config.json")), variant);
    validate_drafter_for_target(d, variant, target, "target");
    return d;
  };
  const DrafterConfig base = parse("base"), swa = parse("swa"), mimo = parse("mimo");
  CHECK(base.block_size == 8);
  CHECK(base.mask_token_id == 397);
  CHECK(base.num_target_layers == 4);
  CHECK(base.causal == std::vector<bool>{false, false});
  CHECK(!base.model.layers[0].sliding);
  CHECK(swa.block_size == 8);  // from dflash_config
  CHECK(swa.causal == std::vector<bool>{true, false});
  CHECK(swa.model.layers[0].sliding_window == 5);
  CHECK(!swa.model.layers[1].sliding);
  CHECK(mimo.causal == std::vector<bool>{false, false});
  for (const auto& l : mimo.model.layers) {
    CHECK(l.sliding);
    CHECK(l.sliding_window == 6);
    CHECK(l.sinks);
    CHECK(l.rope.rotary_dim == 8);
  }
  CHECK(mimo.model.value_scale == doctest::Approx(0.612));
  CHECK(mimo.model.attention_bias);

  json j = base_config();
  j["layer_types"] = {"sliding_attention", "full_attention"};
  j["sliding_window"] = 4;
  j["dflash_config"]["causal"] = false;  // overrides the sliding layer's default
  CHECK(parse_drafter_config(j, "d").causal == std::vector<bool>{false, false});
  j["dflash_config"]["causal"] = true;
  CHECK(parse_drafter_config(j, "d").causal == std::vector<bool>{true, true});
}

TEST_CASE("drafter config: z-lab's Qwen3-8B-DFlash-b16 config.json (reference/dflash.md section 7) parses") {
  const json j = json::parse(R"({"architectures":["DFlashDraftModel"],"auto_map":{"AutoModel":"dflash.DFlashDraftModel"},
    "block_size":16,"dflash_config":{"mask_token_id":151669,"target_layer_ids":[1,9,17,25,33]},
    "num_hidden_layers":5,"num_target_layers":36,"hidden_size":4096,"intermediate_size":12288,
    "num_attention_heads":32,"num_key_value_heads":8,"head_dim":128,"rope_theta":1000000,
    "rms_norm_eps":1e-6,"layer_types":["full_attention","full_attention","full_attention","full_attention",
    "full_attention"],"sliding_window":null,"vocab_size":151936,"tie_word_embeddings":false,"model_type":"qwen3",
    "dtype":"bfloat16","attention_bias":false,"attention_dropout":0.0,"bos_token_id":151643,"eos_token_id":151645,
    "hidden_act":"silu","initializer_range":0.02,"max_position_embeddings":40960,"max_window_layers":36,
    "rope_scaling":null,"torch_dtype":"bfloat16","transformers_version":"4.57.1","use_cache":true,
    "use_sliding_window":false})");
  const DrafterConfig d = parse_drafter_config(j, "Qwen3-8B-DFlash-b16/config.json");
  CHECK(d.block_size == 16);
  CHECK(d.mask_token_id == 151669);
  CHECK(d.target_layer_ids == build_target_layer_ids(36, 5));
  CHECK(d.model.num_layers == 5);
  CHECK(d.model.num_q_heads() == 32);
  CHECK(d.causal == std::vector<bool>(5, false));
  for (const auto& l : d.model.layers) CHECK(!l.sliding);
}

TEST_CASE("drafter config: default target_layer_ids follow z-lab's rule") {
  CHECK(build_target_layer_ids(36, 5) == std::vector<int>{1, 9, 17, 25, 33});   // Qwen3-8B
  CHECK(build_target_layer_ids(64, 5) == std::vector<int>{1, 16, 31, 46, 61});  // Qwen3.6-27B
  CHECK(build_target_layer_ids(40, 5) == std::vector<int>{1, 10, 19, 28, 37});
  CHECK(build_target_layer_ids(36, 1) == std::vector<int>{18});
  CHECK(build_target_layer_ids(8, 3) == std::vector<int>{1, 3, 5});
  // 1 + i * 6 / 4 = 1, 2.5, 4, 5.5, 7: halves go to the even neighbour, as Python's round() does.
  CHECK(build_target_layer_ids(10, 5) == std::vector<int>{1, 2, 4, 6, 7});
  json j = base_config();
  j["dflash_config"].erase("target_layer_ids");
  CHECK(parse_drafter_config(j, "d").target_layer_ids == build_target_layer_ids(4, 2));
  j.erase("num_target_layers");
  DrafterConfig d = parse_drafter_config(j, "d");
  CHECK(d.target_layer_ids.empty());  // left to the target
  validate_drafter_for_target(d, "d", target_config(), "t");
  CHECK(d.target_layer_ids == build_target_layer_ids(4, 2));
}

TEST_CASE("drafter config: mismatches with the target name the field and both values") {
  const ModelConfig target = target_config();
  json j = base_config();
  CHECK(validation_error(j, target).empty());

  json h = j;
  h["hidden_size"] = 128;
  std::string err = validation_error(h, target);
  CHECK(err.find("'hidden_size'") != std::string::npos);
  CHECK(err.find("128") != std::string::npos);
  CHECK(err.find("64") != std::string::npos);

  json v = j;
  v["vocab_size"] = 512;
  err = validation_error(v, target);
  CHECK(err.find("'vocab_size'") != std::string::npos);
  CHECK(err.find("512") != std::string::npos);
  CHECK(err.find("400") != std::string::npos);

  json ids = j;
  ids["dflash_config"]["target_layer_ids"] = {0, 1, 7};
  err = validation_error(ids, target);
  CHECK(err.find("'target_layer_ids'") != std::string::npos);
  CHECK(err.find("layer 7") != std::string::npos);
  CHECK(err.find("0..3") != std::string::npos);

  json m = j;
  m["dflash_config"]["mask_token_id"] = 400;
  err = validation_error(m, target);
  CHECK(err.find("'mask_token_id'") != std::string::npos);
  CHECK(err.find("400 is outside") != std::string::npos);

  json n = j;
  n["num_target_layers"] = 36;
  err = validation_error(n, target);
  CHECK(err.find("'num_target_layers'") != std::string::npos);
  CHECK(err.find("36") != std::string::npos);
  CHECK(err.find("has 4") != std::string::npos);
}

TEST_CASE("drafter config: what Tachyon does not understand is refused, naming the field") {
  auto err = [](const json& j) { return error_of([&] { parse_drafter_config(j, "d/config.json"); }); };
  json j = base_config();
  CHECK(err(j).empty());

  json unknown = j;
  unknown["dflash_config"]["conv_kernel_size"] = 4;  // DFlash2
  CHECK(err(unknown).find("unknown field 'conv_kernel_size'") != std::string::npos);
  json top = j;
  top["final_logit_softcapping"] = 30.0;
  CHECK(err(top).find("unknown field 'final_logit_softcapping'") != std::string::npos);

  json both = j;
  both["dflash_config"]["block_size"] = 16;
  CHECK(err(both).find("'block_size'") != std::string::npos);
  json agree = j;
  agree["dflash_config"]["block_size"] = 8;
  CHECK(err(agree).empty());
  json big = j;
  big["block_size"] = 32;
  CHECK(err(big).find("outside [2, 16]") != std::string::npos);
  json no_block = j;
  no_block.erase("block_size");
  CHECK(err(no_block).find("'block_size': required") != std::string::npos);

  json no_mask = j;
  no_mask["dflash_config"].erase("mask_token_id");
  no_mask["dflash_config"]["mask_token"] = "<|MASK|>";
  CHECK(err(no_mask).find("mask_token_id") != std::string::npos);

  json swa = j;
  swa["dflash_config"]["use_swa"] = true;
  CHECK(err(swa).find("need a window") != std::string::npos);
  swa["dflash_config"]["swa_window_size"] = 16;
  CHECK(err(swa).empty());
  swa["layer_types"] = {"sliding_attention", "full_attention"};
  swa["sliding_window"] = 16;
  CHECK(err(swa).find("mixes sliding and full") != std::string::npos);

  json moe = j;
  moe["model_type"] = "qwen3_moe";
  CHECK(!err(moe).empty());
  json aux = j;
  aux["dflash_config"]["use_aux_hidden_state"] = false;
  CHECK(err(aux).find("use_aux_hidden_state") != std::string::npos);
}

TEST_CASE("drafter convert: mask embeddings, .pt files, names and formats") {
  test::TempDir tmp("drafter-convert");
  std::string log;

  SUBCASE("a mask_embedding.safetensors beside model.safetensors is read, and drafts as the fixture") {
    const fs::path dir = tmp.path() / "mimo";
    fs::create_directories(dir);
    const fs::path src = test::fixture("dflash/mimo/drafter");
    fs::copy_file(src / "config.json", dir / "config.json");
    fs::copy_file(src / "dflash_draft_model.safetensors", dir / "model.safetensors");
    fs::copy_file(src / "mask_embedding.safetensors", dir / "mask_embedding.safetensors");
    const Converted c("mimo-renamed", dir.string());
    CHECK(CheckpointReader(c.drafter).has("mask_embedding"));
    CpuDrafter d = c.load(1);
    const Taps t = load_taps();
    const Expected e = load_expected("mimo");
    grow_context(d, 0, e.positions[1], t);
    const Draft out = d.draft({{0, e.anchors[1], e.positions[1], e.block_sizes[1]}}).at(0);
    const size_t first = e.block_sizes[0] - 1;
    for (size_t r = 0; r < out.tokens.size(); ++r) CHECK(out.tokens[r] == e.tokens[first + r]);
  }
  SUBCASE("a mask_embedding.pt without a safetensors twin is refused with what to do") {
    const fs::path dir = tmp.path() / "pt";
    fs::create_directories(dir);
    const fs::path src = test::fixture("dflash/base/drafter");
    fs::copy_file(src / "config.json", dir / "config.json");
    fs::copy_file(src / "model.safetensors", dir / "model.safetensors");
    { std::ofstream(dir / "mask_embedding.pt") << "not a pickle"; }
    CHECK(test::run_tachyon("convert --drafter --from " + dir.string() + " --to " + tmp.file("x.h5"), &log) != 0);
    CHECK(log.find("mask_embedding.pt") != std::string::npos);
    CHECK(log.find("torch") != std::string::npos);
    CHECK(log.find("mask_embedding_to_safetensors.py") != std::string::npos);
  }
  SUBCASE("f32 and fp8 matrices convert; f32 drafts exactly as bf16 (the fixture's values are bf16)") {
    const Converted bf16("base");
    const Converted f32("base", "", "--dense f32");
    const Converted fp8("base", "", "--dense fp8");
    CHECK(CheckpointReader(f32.drafter).info("fc").format == WeightFormat::F32);
    CHECK(CheckpointReader(fp8.drafter).info("layers.0.attn.q").format == WeightFormat::FP8);
    CHECK(CheckpointReader(bf16.drafter).info("layers.1.mlp.down").format == WeightFormat::BF16);
    const Taps t = load_taps();
    CpuDrafter a = bf16.load(1), b = f32.load(1), q = fp8.load(1);
    for (CpuDrafter* d : {&a, &b, &q}) grow_context(*d, 0, 11, t);
    const Draft da = a.draft({{0, t.prompt[11], 11, 8}}).at(0), db = b.draft({{0, t.prompt[11], 11, 8}}).at(0);
    CHECK(da.logits == db.logits);
    CHECK(q.draft({{0, t.prompt[11], 11, 8}}).at(0).logits.size() == da.logits.size());
  }
  SUBCASE("bad inputs are named") {
    CHECK(test::run_tachyon("convert --drafter --random-config x.json --to " + tmp.file("x.h5"), &log) != 0);
    CHECK(log.find("--drafter converts a directory") != std::string::npos);
    CHECK(test::run_tachyon("convert --drafter --experts bf16 --from " + test::fixture("dflash/base/drafter") +
                            " --to " + tmp.file("x.h5"), &log) != 0);
    CHECK(log.find("no experts") != std::string::npos);
    // A target checkpoint is not a drafter, and the drafter needs a target.
    const Converted c("base");
    CHECK_THROWS_WITH_AS(CpuDrafter::load(CheckpointReader(c.target), CheckpointReader(c.target), 1, 16),
                         doctest::Contains("not a DFlash drafter"), Error);
    // ... nor a drafter a target: named, not a complaint about the drafter's config fields.
    CHECK_THROWS_WITH_AS(CpuDrafter::load(CheckpointReader(c.drafter), CheckpointReader(c.drafter), 1, 16),
                         doctest::Contains("this is a drafter checkpoint, not a target model"), Error);
    const std::string prompts = tmp.file("p.jsonl");
    std::ofstream(prompts) << "{\"id\": 1, \"input_ids\": [1, 2]}\n";
    CHECK(test::run_tachyon("generate --device cpu --model " + c.drafter + " --prompts " + prompts + " --out " +
                            tmp.file("o.jsonl"), &log) != 0);
    CHECK_MESSAGE(log.find("this is a drafter checkpoint, not a target model (a DFlash drafter is given with --drafter") !=
                      std::string::npos, log);
  }
}
