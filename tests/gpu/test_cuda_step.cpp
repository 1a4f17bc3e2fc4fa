// Rung 3 of the correctness ladder for the whole step: the CUDA target step (one GPU) against the CPU
// reference on every parity fixture, prefill and decode, with and without CUDA graphs; and `tachyon
// generate --device cuda` giving the CPU backend's greedy tokens on 1 and (when present) 2 GPUs, under
// both MoE plans.
#include <doctest/doctest.h>
#include <mpi.h>

#include <climits>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "comm/collectives.h"
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
// A token whose router top-k is within kRouteTie of a tie (cpu::route_margin, logit units) can take
// another expert set on the GPU: the router logits carry the BF16 error of h. Its row and every later
// row of its sequence (through its K/V) may then differ by far more than the bound; such rows are
// counted and reported instead of compared, and most rows must still be compared.
constexpr float kRouteTie = 2e-2f;

struct Fixture {
  const char* name;
  const char* weights;
  const char* flags;
};
const Fixture kFixtures[] = {{"qwen3_moe", "qwen3_moe", ""},
                             {"qwen3_moe_tied_sharded", "qwen3_moe_tied_sharded", "--dense f32 --experts f32"},
                             {"gpt_oss", "gpt_oss", ""},
                             {"qwen3_moe_fp8_mxfp4", "qwen3_moe", "--dense fp8 --experts mxfp4"}};

int argmax(const float* v, size_t n) {
  size_t b = 0;
  for (size_t i = 1; i < n; ++i)
    if (v[i] > v[b]) b = i;
  return static_cast<int>(b);
}

// Per sequence slot: the first position whose routing was near a tie (rows from there on are not compared).
struct TieTracker {
  std::vector<int> first_tie;
  explicit TieTracker(int slots) : first_tie(slots, INT_MAX) {}
  void update(const StepBatch& batch, const std::vector<float>& margins) {
    size_t t = 0;
    for (const auto& s : batch.seqs)
      for (int i = 0; i < s.count; ++i, ++t)
        if (margins.at(t) < kRouteTie) first_tie[s.slot] = std::min(first_tie[s.slot], s.start + i);
  }
};

}  // namespace

TEST_CASE("cuda step equals the CPU reference on every parity fixture (prefill, decode, graphs on/off)") {
  comm::NcclComm nccl(0);
  comm::SingleProcess self;
  for (const Fixture& f : kFixtures) {
    test::TempDir tmp(std::string("cuda-step-") + f.name);
    std::string log;
    REQUIRE(test::run_tachyon(std::string("convert --from ") + test::fixture(std::string("parity/") + f.weights) + " --to " +
                              tmp.file("m.h5") + " " + f.flags, &log) == 0);
    CheckpointReader reader(tmp.file("m.h5"));
    const ModelConfig c = parse_model_config(reader.config_json(), f.name);
    const ShardPlan plan = make_shard_plan(c, 0, 1, MoeParallel::Tp);
    const std::vector<int32_t> prompt = test::load_parity_expected(f.weights).prompt;
    const int n = static_cast<int>(prompt.size()), short_n = std::min(4, n);
    for (bool graphs : {false, true}) {
      CpuTargetStep cpu(c, plan, load_target_weights(reader, c, plan), self, 2, 64);
      CudaTargetStep gpu(c, plan, load_device_weights(reader, c, plan), nccl, CudaStepLimits{2, 64, 64, 64, graphs});
      std::vector<float> margins;
      cpu.trace_route_margins(&margins);
      TieTracker ties(2);
      // Two sequences: the fixture's prompt with logits at every position, and its first 4 tokens; then
      // 6 decode steps of both, each feeding the CPU's greedy choice.
      StepBatch batch;
      batch.seqs = {{0, 0, n, 0}, {1, 0, short_n, short_n - 1}};
      batch.tokens = prompt;
      batch.tokens.insert(batch.tokens.end(), prompt.begin(), prompt.begin() + short_n);
      double worst = 0;
      int compared = 0, near_tie = 0;
      for (int step = 0; step < 7; ++step) {
        StepOutput a, b;
        cpu.run(batch, a);
        gpu.run(batch, b);
        ties.update(batch, margins);
        REQUIRE(a.logits.size() == b.logits.size());
        const size_t V = c.vocab_size, rows = a.logits.size() / V;
        REQUIRE(b.local_argmax.size() == rows);
        size_t r = 0;
        for (const auto& s : batch.seqs)
          for (int i = s.logits_from; i < s.count; ++i, ++r) {
            const float* want = &a.logits[r * V];
            const float* got = &b.logits[r * V];
            if (s.start + i >= ties.first_tie[s.slot]) {
              ++near_tie;
              continue;
            }
            ++compared;
            double row_scale = 0, row_worst = 0;
            for (size_t v = 0; v < V; ++v) {
              row_scale = std::max(row_scale, std::fabs(double(want[v])));
              row_worst = std::max(row_worst, std::fabs(double(want[v]) - got[v]));
            }
            const double bound = kLogitAtol + kLogitRtol * row_scale;
            worst = std::max(worst, row_worst);
            CHECK_MESSAGE(row_worst <= bound, f.name, " graphs ", graphs, " step ", step, " slot ", s.slot, " position ",
                          s.start + i, ": max |diff| ", row_worst, " > ", bound, " (row scale ", row_scale, ")");
            // The arg-max must agree where the CPU's own top-2 margin is wider than twice the bound.
            const int best = argmax(want, V);
            float second = -INFINITY;
            for (size_t v = 0; v < V; ++v)
              if (static_cast<int>(v) != best) second = std::max(second, want[v]);
            if (want[best] - second > 2 * bound)
              CHECK_MESSAGE(b.local_argmax[r].id == best, f.name, " step ", step, " slot ", s.slot, " position ", s.start + i);
          }
        StepBatch next;
        size_t row = 0;
        for (const auto& s : batch.seqs) {
          row += s.count - s.logits_from;
          next.seqs.push_back({s.slot, s.start + s.count, 1, 0});
          next.tokens.push_back(argmax(&a.logits[(row - 1) * V], V));
        }
        batch = next;
      }
      MESSAGE(f.name, graphs ? " with" : " without", " CUDA graphs: ", compared, " rows compared, max |logit diff| vs CPU ",
              worst, "; ", near_tie, " rows after a near-tie route (margin < ", kRouteTie, ") not compared; ", gpu.graphs(),
              " graphs");
      CHECK_MESSAGE(compared >= near_tie, f.name, ": too few rows compared (", compared, " of ", compared + near_tie, ")");
    }
  }
}

using test::lines_of;

TEST_CASE("tachyon generate --device cuda gives the CPU backend's greedy tokens, 1 and 2 GPUs, both plans") {
  int gpus = 0;
  cudaGetDeviceCount(&gpus);
  for (const Fixture& f : kFixtures) {
    test::TempDir tmp(std::string("cuda-generate-") + f.name);
    std::string log;
    REQUIRE(test::run_tachyon(std::string("convert --from ") + test::fixture(std::string("parity/") + f.weights) + " --to " +
                              tmp.file("m.h5") + " " + f.flags, &log) == 0);
    {
      // The fixture's prompt and four of its prefixes: batched sequences of different lengths.
      const std::vector<int32_t> prompt = test::load_parity_expected(f.weights).prompt;
      std::ofstream p(tmp.file("p.jsonl"));
      for (int i = 0; i < 5; ++i) {
        const size_t len = std::max<size_t>(1, prompt.size() - 2 * i);
        p << json{{"id", i}, {"input_ids", std::vector<int32_t>(prompt.begin(), prompt.begin() + len)}, {"max_tokens", 10}}.dump()
          << "\n";
      }
    }
    const std::string args = std::string(" generate --model ") + tmp.file("m.h5") + " --prompts " + tmp.file("p.jsonl") +
                             " --max-batch 3";
    REQUIRE(test::run_tachyon(args + " --device cpu --out " + tmp.file("cpu.jsonl"), &log) == 0);
    const auto ref = lines_of(tmp.file("cpu.jsonl"));
    for (int ranks : {1, 2}) {
      if (ranks > gpus) continue;
      for (const char* moe : {"tp", "ep"}) {
        const std::string o = tmp.file(std::string("gpu-") + std::to_string(ranks) + moe + ".jsonl");
        const int rc = test::run(test::mpirun(ranks) + "--bind-to none " + TACHYON_EXE + args + " --device cuda --moe-parallel " +
                                 moe + " --out " + o + " > " + o + ".log 2>&1");
        const std::string run_log = test::read_file(o + ".log");
        REQUIRE_MESSAGE(rc == 0, run_log);
        const auto got = lines_of(o);
        REQUIRE(got.size() == ref.size());
        for (size_t i = 0; i < ref.size(); ++i)
          CHECK_MESSAGE(json::parse(got[i])["token_ids"] == json::parse(ref[i])["token_ids"], std::string(f.name), " ranks ", ranks,
                        " plan ", moe, " request ", i);
      }
    }
  }
}
