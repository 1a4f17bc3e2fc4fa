// Rung 3 of the correctness ladder for the whole step: the CUDA target step (one GPU) against the CPU
// reference on every parity fixture, prefill and decode, with and without CUDA graphs; and `tachyon
// generate --device cuda` giving the CPU backend's greedy tokens on 1 and (when present) 2 GPUs, under
// both MoE plans.
#include <doctest/doctest.h>
#include <mpi.h>

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

// The GPU computes with BF16 tensor-core inputs (m > 2 rows) and a BF16 KV cache; logits of order 1-10
// then differ from the FP32 CPU reference by up to a few 1e-2. The fixtures' greedy margins are >= 0.1.
constexpr double kLogitAtol = 6e-2, kLogitRtol = 2e-2;

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
    for (bool graphs : {false, true}) {
      CpuTargetStep cpu(c, plan, load_target_weights(reader, c, plan), self, 2, 64);
      CudaTargetStep gpu(c, plan, load_device_weights(reader, c, plan), nccl, CudaStepLimits{2, 64, 64, 64, graphs});
      // Two sequences: a prompt of 11 tokens with logits at every position, and one of 4; then 6
      // decode steps of both, each feeding the CPU's greedy choice.
      StepBatch batch;
      batch.seqs = {{0, 0, 11, 0}, {1, 0, 4, 3}};
      for (int i = 0; i < 15; ++i) batch.tokens.push_back((i * 37 + 11) % c.vocab_size);
      double worst = 0;
      for (int step = 0; step < 7; ++step) {
        StepOutput a, b;
        cpu.run(batch, a);
        gpu.run(batch, b);
        REQUIRE(a.logits.size() == b.logits.size());
        bool close = true;
        double step_worst = 0;
        for (size_t i = 0; i < a.logits.size(); ++i) {
          const double d = std::fabs(double(a.logits[i]) - b.logits[i]);
          step_worst = std::max(step_worst, d);
          close &= d <= kLogitAtol + kLogitRtol * std::fabs(a.logits[i]);
        }
        worst = std::max(worst, step_worst);
        CHECK_MESSAGE(close, std::string(f.name), " graphs ", graphs, " step ", step, ": max |diff| ", step_worst);
        const size_t V = c.vocab_size, rows = a.logits.size() / V;
        REQUIRE(b.local_argmax.size() == rows);
        for (size_t r = 0; r < rows; ++r) {
          // The arg-max must agree where the CPU's own top-2 margin is wider than the allowed error.
          const float* row = &a.logits[r * V];
          const int best = argmax(row, V);
          float second = -INFINITY;
          for (size_t v = 0; v < V; ++v)
            if (static_cast<int>(v) != best) second = std::max(second, row[v]);
          if (row[best] - second > 2 * (kLogitAtol + kLogitRtol * std::fabs(row[best])))
            CHECK_MESSAGE(b.local_argmax[r].id == best, std::string(f.name), " step ", step, " row ", r);
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
      MESSAGE(std::string(f.name), std::string(graphs ? " with" : " without"), " CUDA graphs: max |logit diff| vs CPU ",
              worst, ", ", gpu.graphs(), " graphs");
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
      std::ofstream p(tmp.file("p.jsonl"));
      for (int i = 0; i < 5; ++i) {
        std::vector<int> ids;
        for (int k = 0; k < 3 + 4 * i; ++k) ids.push_back((i * 41 + k * 13 + 2) % 300);
        p << json{{"id", i}, {"input_ids", ids}, {"max_tokens", 10}}.dump() << "\n";
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
