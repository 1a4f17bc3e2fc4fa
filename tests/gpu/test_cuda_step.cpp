// Rung 3 of the correctness ladder for the whole step: the CUDA target step (one GPU) against the CPU
// reference on every parity fixture, prefill and decode, with and without CUDA graphs; and `tachyon
// generate --device cuda` giving the CPU backend's greedy tokens on 1 and (when present) 2 GPUs, under
// both MoE plans.
#include <doctest/doctest.h>
#include <mpi.h>

#include <algorithm>
#include <random>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "comm/collectives.h"
#include "kernels/cpu/argmax.h"
#include "comm/cuda/nccl_collectives.h"
#include "model/checkpoint.h"
#include "runtime/cpu_target_step.h"
#include "runtime/cuda/cuda_target_step.h"
#include "../unit/test_util.h"

using namespace tachyon;
using nlohmann::json;

namespace {

// What the GPU may differ by, and why. It feeds the tensor cores BF16 activations (the MoE GEMMs always,
// BF16/FP8 dense layers from 3 rows on, attention's Q and P) and keeps K/V in BF16, where the CPU
// reference is FP32 throughout. Those roundings perturb the final hidden state h by a small relative
// amount, so every logit of a row moves by about that fraction of the row's scale |W| |h|, whatever its
// own value: the bound is per row, kLogitAtol + kLogitRtol * max |logit| of the row.
constexpr double kLogitAtol = 6e-2, kLogitRtol = 2e-2;
// Expert choices are discrete: where the router's top-k is within its error of a tie, the GPU may take
// another expert set, and that row and every later row of its sequence (through its K/V) legitimately
// differ by far more than the bound. The GPU's router runs on FP32 activations and its logits carry only
// the relative error of h; on an H200 one route with a margin of 5.3e-3 (cpu::route_margin, logit units)
// flipped. So the test drives the step with prompts whose every expert choice, in the prefill and in the
// greedy decode steps, has a margin of at least kRouteMargin on the CPU (found by a seeded search, as the
// parity fixtures' prompts were chosen), and then compares every row.
constexpr float kRouteMargin = 1e-2f;
constexpr int kPromptLen = 20, kShortLen = 4, kDecodeSteps = 6;

struct Fixture {
  const char* name;
  const char* weights;
  const char* flags;
};
const Fixture kFixtures[] = {{"qwen3_moe", "qwen3_moe", ""},
                             {"qwen3_moe_tied_sharded", "qwen3_moe_tied_sharded", "--dense f32 --experts f32"},
                             {"gpt_oss", "gpt_oss", ""},
                             {"qwen3_moe_fp8_mxfp4", "qwen3_moe", "--dense fp8 --experts mxfp4"}};

// The fixture's weights converted into a Tachyon checkpoint at `path`, in the fixture's formats.
void convert_fixture(const Fixture& f, const std::string& path) {
  std::string log;
  REQUIRE_MESSAGE(test::run_tachyon(std::string("convert --from ") + test::fixture(std::string("parity/") + f.weights) +
                                        " --to " + path + " " + f.flags,
                                    &log) == 0,
                  log);
}

// The step sequence of the test: prefill [prompt] in slot 0 (logits at every position) and its first
// kShortLen tokens in slot 1, then kDecodeSteps greedy decode steps of both, each feeding the CPU's choice.
StepBatch prefill_batch(const std::vector<int32_t>& prompt) {
  StepBatch batch;
  batch.seqs = {{0, 0, kPromptLen, 0}, {1, 0, kShortLen, kShortLen - 1}};
  batch.tokens = prompt;
  batch.tokens.insert(batch.tokens.end(), prompt.begin(), prompt.begin() + kShortLen);
  return batch;
}

StepBatch next_batch(const StepBatch& batch, const StepOutput& reference, size_t vocab) {
  StepBatch next;
  size_t row = 0;
  for (const auto& s : batch.seqs) {
    row += s.count - s.logits_from;
    next.seqs.push_back({s.slot, s.start + s.count, 1, 0});
    next.tokens.push_back(cpu::argmax(&reference.logits[(row - 1) * vocab], vocab));
  }
  return next;
}

// The first of a seeded series of random prompts whose every expert choice over the whole test keeps a
// margin of kRouteMargin on the CPU reference.
std::vector<int32_t> prompt_with_clear_routes(const ModelConfig& c, const ShardPlan& plan, const CheckpointReader& reader,
                                              comm::Collectives& self) {
  std::mt19937 rng(1234);
  for (int attempt = 0; attempt < 2000; ++attempt) {
    std::vector<int32_t> prompt(kPromptLen);
    for (auto& t : prompt) t = static_cast<int32_t>(rng() % static_cast<uint32_t>(c.vocab_size));
    CpuTargetStep cpu(c, plan, load_target_weights(reader, c, plan), self, 2, 64);
    std::vector<float> margins;
    cpu.trace_route_margins(&margins);
    StepBatch batch = prefill_batch(prompt);
    bool clear = true;
    for (int step = 0; step <= kDecodeSteps && clear; ++step) {
      StepOutput out;
      cpu.run(batch, out);
      clear = *std::min_element(margins.begin(), margins.end()) >= kRouteMargin;
      batch = next_batch(batch, out, c.vocab_size);
    }
    if (clear) {
      MESSAGE("prompt with every route margin >= ", kRouteMargin, " found after ", attempt + 1, " tries");
      return prompt;
    }
  }
  FAIL("no prompt with clear routes in 2000 tries");
  return {};
}

}  // namespace

TEST_CASE("cuda step equals the CPU reference on every parity fixture (prefill, decode, graphs on/off)") {
  comm::NcclComm nccl(0);
  comm::SingleProcess self;
  for (const Fixture& f : kFixtures) {
    test::TempDir tmp(std::string("cuda-step-") + f.name);
    convert_fixture(f, tmp.file("m.h5"));
    CheckpointReader reader(tmp.file("m.h5"));
    const ModelConfig c = parse_model_config(reader.config_json(), f.name);
    const ShardPlan plan = make_shard_plan(c, 0, 1, MoeParallel::Tp);
    const std::vector<int32_t> prompt = prompt_with_clear_routes(c, plan, reader, self);
    // Graphs off and on; and on with the residual add, norm and router as separate launches (the default fuses
    // them at the fixtures' small widths: kernels/cuda/norm_router.h).
    for (const auto& [graphs, fuse] : {std::pair{false, true}, std::pair{true, true}, std::pair{true, false}}) {
      CpuTargetStep cpu(c, plan, load_target_weights(reader, c, plan), self, 2, 64);
      CudaStepLimits limits{2, 64, 64, 64, graphs};
      limits.fuse_norm_router = fuse;
      CudaTargetStep gpu(c, plan, load_device_weights(reader, c, plan), nccl, limits);
      StepBatch batch = prefill_batch(prompt);
      double worst = 0;
      int compared = 0;
      for (int step = 0; step <= kDecodeSteps; ++step) {
        StepOutput a, b;
        cpu.run(batch, a);
        gpu.run(batch, b);
        REQUIRE(a.logits.size() == b.logits.size());
        const size_t V = c.vocab_size, rows = a.logits.size() / V;
        REQUIRE(b.local_argmax.size() == rows);
        size_t r = 0;
        for (const auto& s : batch.seqs)
          for (int i = s.logits_from; i < s.count; ++i, ++r) {
            const float* want = &a.logits[r * V];
            const float* got = &b.logits[r * V];
            ++compared;
            double row_scale = 0, row_worst = 0;
            for (size_t v = 0; v < V; ++v) {
              row_scale = std::max(row_scale, std::fabs(double(want[v])));
              row_worst = std::max(row_worst, std::fabs(double(want[v]) - got[v]));
            }
            const double bound = kLogitAtol + kLogitRtol * row_scale;
            worst = std::max(worst, row_worst);
            CHECK_MESSAGE(row_worst <= bound, std::string(f.name), " graphs ", graphs, " fused router ", fuse, " step ", step, " slot ", s.slot,
                          " position ", s.start + i, ": max |diff| ", row_worst, " > ", bound, " (row scale ", row_scale, ")");
            // The arg-max must agree where the CPU's own top-2 margin is wider than twice the bound.
            const int best = cpu::argmax(want, V);
            float second = -INFINITY;
            for (size_t v = 0; v < V; ++v)
              if (static_cast<int>(v) != best) second = std::max(second, want[v]);
            if (want[best] - second > 2 * bound)
              CHECK_MESSAGE(b.local_argmax[r].id == best, std::string(f.name), " step ", step, " slot ", s.slot, " position ",
                            s.start + i);
          }
        batch = next_batch(batch, a, V);
      }
      // The decode steps repeat one shape: its graph is captured the second time and replayed after (graph_cache.h).
      CHECK(gpu.graphs() == (graphs ? 1u : 0u));
      MESSAGE(std::string(f.name), std::string(graphs ? " with" : " without"), " CUDA graphs", fuse ? "" : ", router unfused", ": ", compared,
              " rows compared, max |logit diff| vs CPU ", worst, ", ", gpu.graphs(), " graphs");
    }
  }
}

// One process running one rank's share of a 2-rank tp plan (as `tachyon bench step` runs a per-GPU slice):
// the MoE layers' combine inside the all-reduce's place (combine_add_rmsnorm, as the fused peer all-reduce
// does on several GPUs) gives the bits of moe_combine, then add_rmsnorm. The step's logits are this rank's
// share only, so the check is the two paths against each other, bit for bit.
TEST_CASE("cuda step: one rank of a tp plan gives the same bits with the MoE combine fused into the add + norm") {
  comm::NcclComm nccl(0);
  for (const Fixture& f : kFixtures) {
    test::TempDir tmp(std::string("cuda-step-combine-") + f.name);
    convert_fixture(f, tmp.file("m.h5"));
    CheckpointReader reader(tmp.file("m.h5"));
    const ModelConfig c = parse_model_config(reader.config_json(), f.name);
    if (!c.has_moe()) continue;
    const ShardPlan plan = make_shard_plan(c, 0, 2, MoeParallel::Tp);
    std::vector<int32_t> prompt(kPromptLen);
    std::mt19937 rng(99);
    for (auto& t : prompt) t = static_cast<int32_t>(rng() % static_cast<uint32_t>(c.vocab_size));
    CudaStepLimits fused_limits{2, 64, 64, 64, true}, separate_limits = fused_limits;
    separate_limits.fuse_combine = false;
    CudaTargetStep fused(c, plan, load_device_weights(reader, c, plan), nccl, fused_limits);
    CudaTargetStep separate(c, plan, load_device_weights(reader, c, plan), nccl, separate_limits);
    StepBatch batch = prefill_batch(prompt);
    size_t compared = 0, differing = 0;
    for (int step = 0; step <= kDecodeSteps; ++step) {
      StepOutput a, b;
      fused.run(batch, a);
      separate.run(batch, b);
      REQUIRE(a.logits.size() == b.logits.size());
      for (size_t i = 0; i < a.logits.size(); ++i) differing += std::memcmp(&a.logits[i], &b.logits[i], sizeof(float)) != 0;
      compared += a.logits.size();
      batch = next_batch(batch, a, c.vocab_size);
    }
    MESSAGE(std::string(f.name), ": ", compared, " logits compared");
    CHECK_MESSAGE(differing == 0, std::string(f.name), ": ", differing, " of ", compared, " logits differ");
  }
}

// Steps of one token on one rank: the combine + add + norm after the experts in moe_down's last CTA
// (CudaStepLimits::fuse_down_tail) gives the bits of the launch of its own, the norm + router fused or not. The tail
// needs rows of at least 512 (the fixtures' are 64), so a random model of hidden 512 with MXFP4 experts and FP8 dense
// weights: one sequence's prefill, then its decode steps of one token, every logit compared bit for bit.
TEST_CASE("cuda step: the combine + add + norm in moe_down's last CTA gives the bits of its own launch") {
  comm::NcclComm nccl(0);
  test::TempDir tmp("cuda-step-down-tail");
  {
    std::ofstream cfg(tmp.file("config.json"));
    cfg << json{{"model_type", "qwen3_moe"}, {"vocab_size", 300}, {"hidden_size", 512}, {"num_hidden_layers", 3},
                {"num_attention_heads", 4}, {"num_key_value_heads", 2}, {"head_dim", 64}, {"intermediate_size", 256},
                {"moe_intermediate_size", 64}, {"num_experts", 8}, {"num_experts_per_tok", 2}, {"norm_topk_prob", true},
                {"mlp_only_layers", {0}}, {"rms_norm_eps", 1e-6}, {"rope_theta", 10000.0},
                {"max_position_embeddings", 512}, {"tie_word_embeddings", false}}
               .dump();
  }
  std::string log;
  REQUIRE_MESSAGE(test::run_tachyon("convert --random-config " + tmp.file("config.json") + " --seed 5 --dense fp8 --experts mxfp4 --to " +
                                        tmp.file("m.h5"),
                                    &log) == 0,
                  log);
  CheckpointReader reader(tmp.file("m.h5"));
  const ModelConfig c = parse_model_config(reader.config_json(), "down-tail model");
  const ShardPlan plan = make_shard_plan(c, 0, 1, MoeParallel::Tp);
  for (const bool fuse_router : {true, false}) {
    std::vector<int32_t> prompt(kPromptLen);
    std::mt19937 rng(7);
    for (auto& t : prompt) t = static_cast<int32_t>(rng() % static_cast<uint32_t>(c.vocab_size));
    CudaStepLimits tail_limits{2, 64, 64, 64, true}, launch_limits = tail_limits;
    tail_limits.fuse_norm_router = launch_limits.fuse_norm_router = fuse_router;
    launch_limits.fuse_down_tail = false;
    CudaTargetStep with_tail(c, plan, load_device_weights(reader, c, plan), nccl, tail_limits);
    CudaTargetStep without(c, plan, load_device_weights(reader, c, plan), nccl, launch_limits);
    StepBatch batch;  // one sequence, so that its decode steps are of one token
    batch.seqs = {{0, 0, kPromptLen, 0}};
    batch.tokens = prompt;
    size_t compared = 0, differing = 0;
    for (int step = 0; step <= kDecodeSteps; ++step) {
      StepOutput a, b;
      with_tail.run(batch, a);
      without.run(batch, b);
      REQUIRE(a.logits.size() == b.logits.size());
      for (size_t i = 0; i < a.logits.size(); ++i) differing += std::memcmp(&a.logits[i], &b.logits[i], sizeof(float)) != 0;
      compared += a.logits.size();
      batch = next_batch(batch, a, c.vocab_size);
    }
    CHECK(with_tail.down_tail_launches() > 0);  // the decode steps' two MoE layers
    CHECK(without.down_tail_launches() == 0);
    MESSAGE("fused router ", fuse_router, ": ", compared, " logits compared");
    CHECK_MESSAGE(differing == 0, "fused router ", fuse_router, ": ", differing, " of ", compared, " logits differ");
  }
}

using test::lines_of;

TEST_CASE("tachyon generate --device cuda gives the CPU backend's greedy tokens, 1, 2, 4 and 8 GPUs (those visible), both plans, "
          "with and without --batch-invariant") {
  int gpus = 0;
  cudaGetDeviceCount(&gpus);
  for (const Fixture& f : kFixtures) {
    test::TempDir tmp(std::string("cuda-generate-") + f.name);
    convert_fixture(f, tmp.file("m.h5"));
    std::string log;
    {
      // The fixture's prompt (whose greedy margins the fixture guarantees; arbitrary prompts of random
      // weights have near-ties that BF16 may flip) five times, ending at different lengths, so that the
      // batch changes shape as sequences finish.
      const std::vector<int32_t> prompt = test::load_parity_expected(f.weights).prompt;
      std::ofstream p(tmp.file("p.jsonl"));
      for (int i = 0; i < 5; ++i) p << json{{"id", i}, {"input_ids", prompt}, {"max_tokens", 4 + 2 * i}}.dump() << "\n";
    }
    const std::string args = std::string(" generate --model ") + tmp.file("m.h5") + " --prompts " + tmp.file("p.jsonl") +
                             " --max-batch 3";
    REQUIRE(test::run_tachyon(args + " --device cpu --out " + tmp.file("cpu.jsonl"), &log) == 0);
    const auto ref = lines_of(tmp.file("cpu.jsonl"));
    // Under ep with several ranks each rank keeps a share of the tokens (of 1 to 3 per step here, so
    // that some ranks' shares are empty) and exchanges them with the experts' owners (all-to-all).
    for (int ranks : {1, 2, 4, 8}) {  // 8: one node's worth (issue 9), where 8 GPUs are visible
      if (ranks > gpus) continue;
      // And with batch invariance (kernels/cuda/batch_invariant.h): other arithmetic, the same tokens.
      for (const char* moe : {"tp", "ep"}) {
        for (const std::string mode : {"", " --batch-invariant"}) {
          const std::string o =
              tmp.file(std::string("gpu-") + std::to_string(ranks) + moe + (mode.empty() ? "" : "-invariant") + ".jsonl");
          const int rc = test::run(test::mpirun(ranks) + "--bind-to none " + TACHYON_EXE + args + mode +
                                   " --device cuda --moe-parallel " + moe + " --out " + o + " > " + o + ".log 2>&1");
          const std::string run_log = test::read_file(o + ".log");
          REQUIRE_MESSAGE(rc == 0, run_log);
          const auto got = lines_of(o);
          REQUIRE(got.size() == ref.size());
          for (size_t i = 0; i < ref.size(); ++i)
            CHECK_MESSAGE(json::parse(got[i])["token_ids"] == json::parse(ref[i])["token_ids"], std::string(f.name), " ranks ", ranks,
                          " plan ", std::string(moe), mode, " request ", i);
        }
      }
    }
  }
}
