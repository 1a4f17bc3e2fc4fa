// The CPU-side logic of `tachyon bench step`: weight specs (the random GPU weights' shapes) against what
// the checkpoint loader gives every rank, the roofline's byte counting, the expected number of touched
// experts, the model presets, and the report rows.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "model/checkpoint.h"
#include "model/convert.h"
#include "model/error.h"
#include "model/median.h"
#include "runtime/bench_models.h"
#include "runtime/bench_report.h"
#include "runtime/step_roofline.h"
#include "runtime/target_weights.h"
#include "runtime/weight_specs.h"
#include "test_util.h"

using namespace tachyon;
using nlohmann::json;

namespace {

const json kTinyQwen = {{"model_type", "qwen3_moe"}, {"vocab_size", 300}, {"hidden_size", 64},
                        {"num_hidden_layers", 3}, {"num_attention_heads", 4}, {"num_key_value_heads", 2},
                        {"head_dim", 32}, {"num_experts", 4}, {"num_experts_per_tok", 2},
                        {"moe_intermediate_size", 64}, {"intermediate_size", 96}, {"mlp_only_layers", {0}},
                        {"layer_types", {"full_attention", "sliding_attention", "full_attention"}},
                        {"sliding_window", 16}, {"tie_word_embeddings", false}};
const json kTinyGptOss = {{"model_type", "gpt_oss"}, {"vocab_size", 300}, {"hidden_size", 64},
                          {"num_hidden_layers", 2}, {"num_attention_heads", 4}, {"num_key_value_heads", 2},
                          {"head_dim", 16}, {"num_local_experts", 4}, {"num_experts_per_tok", 2},
                          {"intermediate_size", 64}, {"sliding_window", 8}};

template <typename W>
std::vector<const W*> tensors_of(const TargetWeightsT<W>& w) {
  std::vector<const W*> out;
  map_weights<int>(w, [&out](const W& t) {
    out.push_back(&t);
    return 0;
  });
  return out;
}

}  // namespace

TEST_CASE("weight specs give every rank the shapes and formats the checkpoint loader gives it") {
  for (const json& cfg : {kTinyQwen, kTinyGptOss}) {
    const std::string text = cfg.dump();
    const ModelConfig c = parse_model_config(text, "tiny");
    test::TempDir tmp("weight-specs");
    ConvertOptions formats;
    formats.dense = WeightFormat::FP8;
    formats.experts = WeightFormat::MXFP4;
    write_random_checkpoint(text, tmp.file("m.h5"), 7, formats, std::nullopt, {});
    CheckpointReader reader(tmp.file("m.h5"));
    for (auto [rank, world, moe] : {std::tuple{0, 1, MoeParallel::Tp}, {1, 2, MoeParallel::Ep}, {2, 3, MoeParallel::Tp},
                                    {0, 4, MoeParallel::Ep}}) {
      CAPTURE(cfg["model_type"]);
      CAPTURE(rank);
      CAPTURE(world);
      const ShardPlan plan = make_shard_plan(c, rank, world, moe);
      const TargetWeights loaded = load_target_weights(reader, c, plan);
      const TargetWeightSpecs specs = target_weight_specs(c, plan, WeightFormat::FP8, WeightFormat::MXFP4);
      const auto a = tensors_of(loaded);
      const auto b = tensors_of(specs);
      REQUIRE(a.size() == b.size());
      for (size_t i = 0; i < a.size(); ++i) {
        CAPTURE(i);
        CHECK(a[i]->shape == b[i]->shape);
        if (a[i]->empty()) continue;
        CHECK(a[i]->format == b[i]->format);
        // A whole tensor is stored exactly as the spec counts it (slices of FP8 may carry an extra scale row).
        if (world == 1) CHECK(a[i]->data.size() + a[i]->scales.size() == b[i]->bytes());
      }
    }
  }
}

TEST_CASE("expected distinct experts: the closed form equals enumeration of every routing") {
  CHECK(expected_distinct_experts(128, 128, 8, 0) == 0.0);
  CHECK(expected_distinct_experts(128, 128, 8, 1) == doctest::Approx(8.0));
  CHECK(expected_distinct_experts(16, 128, 8, 1) == doctest::Approx(1.0));  // ep: a rank's share of 8 of 128
  CHECK(expected_distinct_experts(128, 128, 8, 9) == doctest::Approx(128 * (1 - std::pow(120.0 / 128, 9))));
  CHECK(expected_distinct_experts(128, 128, 8, 10000) == doctest::Approx(128.0));
  // 5 experts, top-2, 3 tokens, local experts [0, 2): average over all 10^3 equally likely routings.
  std::vector<std::pair<int, int>> subsets;
  for (int i = 0; i < 5; ++i)
    for (int j = i + 1; j < 5; ++j) subsets.push_back({i, j});
  double sum = 0;
  int cases = 0;
  for (auto a : subsets)
    for (auto b : subsets)
      for (auto c : subsets) {
        int touched = 0;
        for (int e = 0; e < 2; ++e)
          touched += (a.first == e || a.second == e || b.first == e || b.second == e || c.first == e || c.second == e);
        sum += touched;
        ++cases;
      }
  CHECK(expected_distinct_experts(2, 5, 2, 3) == doctest::Approx(sum / cases));
}

TEST_CASE("step bytes: all dense weights, touched experts once, KV rows within each layer's window") {
  const ModelConfig c = parse_model_config(kTinyQwen.dump(), "tiny");
  const ShardPlan plan = make_shard_plan(c, 0, 1, MoeParallel::Ep);
  const TargetWeightSpecs specs = target_weight_specs(c, plan, WeightFormat::FP8, WeightFormat::MXFP4);
  // One MXFP4 expert: gate and up [64, 64] and down [64, 64], 32 bytes of nibbles + 2 scale bytes per row of 64.
  CHECK(expert_bytes(specs, 0) == 0.0);
  CHECK(expert_bytes(specs, 1) == 3 * 64 * (32 + 2));
  const StepShape shape{2, 3, 100};
  const StepBytes b = step_bytes(c, plan, specs, shape, {0, 2, 3.5});
  CHECK(b.experts == doctest::Approx(5.5 * 3 * 64 * 34));
  // KV: 2 kv heads x (32 + 32) dims x 2 bytes per position; full layers read 103 positions, the sliding
  // one min(103, 16 + 3 - 1) = 18; two sequences.
  CHECK(b.kv == doctest::Approx(2.0 * (103 + 18 + 103) * 2 * 64 * 2));
  // Dense: every spec but the embedding table (6 rows of it) and the experts.
  double dense = 0;
  for (const WeightSpec* w : tensors_of(specs)) dense += w->bytes();
  for (int l = 1; l < 3; ++l) dense -= 4 * expert_bytes(specs, l);
  dense -= specs.embed.bytes() - 6 * 64 * 2;
  CHECK(b.dense == doctest::Approx(dense));
  CHECK(roofline_us(4.2e9, 4200, 10) == doctest::Approx(1010.0));
}

TEST_CASE("bench model presets have the published sizes") {
  const BenchModel q = bench_model("qwen3-30b-a3b");
  CHECK(q.slice_of == 1);
  CHECK(q.config.total_parameters() == doctest::Approx(30.5e9).epsilon(0.01));
  CHECK(q.config.active_parameters() == doctest::Approx(3.3e9).epsilon(0.03));
  // MiMo-V2.5-Pro: 1.02T total, 42B active (shared/reference/quant-and-models.md).
  const BenchModel m = bench_model("mimo-v2.5-pro-slice");
  CHECK(m.slice_of == 8);
  CHECK(m.config.total_parameters() == doctest::Approx(1.02e12).epsilon(0.02));
  CHECK(m.config.active_parameters() == doctest::Approx(42e9).epsilon(0.05));
  CHECK(m.config.head_dim == 192);
  CHECK(m.config.v_head_dim == 128);
  int global = 0;
  for (const LayerConfig& l : m.config.layers) global += !l.sliding;
  CHECK(global == 10);
  const ShardPlan p = make_shard_plan(m.config, 1, 8, MoeParallel::Ep);
  CHECK(p.experts.size() == 48);
  CHECK(p.attention[1].q_heads.size() == 16);
  CHECK(p.attention[1].kv_heads.size() == 1);
  CHECK(bench_model("gpt-oss-120b").config.total_parameters() == doctest::Approx(116.8e9).epsilon(0.01));
  CHECK(bench_model("qwen3-235b-a22b").config.total_parameters() == doctest::Approx(235e9).epsilon(0.01));
  CHECK_THROWS_WITH_AS(bench_model("llama"), doctest::Contains("qwen3-30b-a3b"), Error);
}

TEST_CASE("bench model: a checkpoint's or a config.json's own shape") {
  // The embedded default target: its checkpoint's config, the same as the checkpoint reader's.
  const std::string target = test::default_model("target.h5");
  const BenchModel d = bench_model(target);
  const ModelConfig want = target_model_config(CheckpointReader(target));
  CHECK(d.name == "target");
  CHECK(d.slice_of == 1);
  CHECK(d.config.num_layers == want.num_layers);
  CHECK(d.config.hidden_size == want.hidden_size);
  CHECK(d.config.total_parameters() == want.total_parameters());
  // A config.json, named by its file.
  test::TempDir tmp("bench-model");
  const std::string path = tmp.file("tiny_moe.json");
  {
    std::ofstream f(path);
    f << nlohmann::json{{"model_type", "qwen3_moe"}, {"vocab_size", 512}, {"hidden_size", 64}, {"num_hidden_layers", 3},
                        {"num_attention_heads", 4}, {"num_key_value_heads", 2}, {"head_dim", 16},
                        {"intermediate_size", 128}, {"moe_intermediate_size", 32}, {"num_experts", 8},
                        {"num_experts_per_tok", 2}, {"rms_norm_eps", 1e-6}}
             .dump();
  }
  const BenchModel t = bench_model(path);
  CHECK(t.name == "tiny_moe");
  CHECK(t.config.num_layers == 3);
  CHECK(t.config.hidden_size == 64);
  // A config.json that is not one names the file.
  const std::string bad = tmp.file("bad.json");
  std::ofstream(bad) << "{\"model_type\": \"qwen3_moe\", \"hidden_size\": ";
  CHECK_THROWS_WITH_AS(bench_model(bad), doctest::Contains("bad.json"), Error);
}

TEST_CASE("bench report: step rows against the roofline, in markdown and JSON") {
  BenchReport r;
  r.device = "GPU";
  r.date = "2026-11-22";
  r.copy_gbs = 4000;
  const StepBenchRow row{.model = "qwen3-30b-a3b", .ranks = 2, .moe = "ep", .seqs = 8, .tokens_per_seq = 1, .dense_bytes = 1e9,
                         .expert_bytes = 0.5e9, .kv_bytes = 0.5e9, .comm_us = 20, .median_us = 840};
  r.steps.push_back(row);
  CHECK(row.roofline_us(4000) == doctest::Approx(520.0));
  CHECK(row.tokens_per_s() == doctest::Approx(8 / 840e-6));
  const std::string md = r.markdown();
  CHECK(md.find("| qwen3-30b-a3b | 2 (1/1) | ep | 8 x 1 | 0 | 840.0 | 9524 |") != std::string::npos);
  CHECK(md.find("| 20.0 | - | 520.0 | 1.62 |") != std::string::npos);  // no peer all-reduce measured: "-"
  // A faster fused peer all-reduce lowers the floor to its time; a slower one leaves NCCL's.
  r.steps[0].peer_us = 12.5;
  CHECK(r.steps[0].roofline_us(4000) == doctest::Approx(512.5));
  CHECK(r.markdown().find("| 20.0 | 12.5 | 512.5 | 1.64 |") != std::string::npos);
  CHECK(json::parse(r.json())["steps"][0]["peer_us"].get<double>() == doctest::Approx(12.5));
  r.steps[0].peer_us = 30;
  CHECK(r.steps[0].roofline_us(4000) == doctest::Approx(520.0));
  CHECK(md.find("| kernel |") == std::string::npos);  // no kernel rows, no kernel table
  const json j = json::parse(r.json());
  CHECK(j["steps"][0]["x_roofline"].get<double>() == doctest::Approx(840.0 / 520));
  CHECK(j["steps"][0]["roofline_us"].get<double>() == doctest::Approx(520.0));
  // One rank: its collectives are measured but are no floor.
  StepBenchRow one = row;
  one.ranks = 1;
  CHECK(one.roofline_us(4000) == doctest::Approx(500.0));
}

TEST_CASE("median of repetitions: the middle one of an odd count, the upper middle of an even count") {
  CHECK(median({7.0}) == 7.0);
  CHECK(median({3.0, 1.0, 2.0}) == 2.0);
  CHECK(median({4.0, 1.0, 3.0, 2.0}) == 3.0);
  CHECK(median({5.0, 5.0, 1.0, 9.0, 5.0}) == 5.0);
}
