// Rung 1 of the correctness ladder: the CPU reference against Hugging Face transformers.
// Each fixture (tests/fixtures/parity, made by scripts/parity/make_fixtures.py) is converted with
// `tachyon convert`, then run on the CPU reference: logits at every prompt position and at every
// greedy decode step must match transformers', and the greedy tokens must be identical.
#include <doctest/doctest.h>

#include <cmath>

#include "comm/collectives.h"
#include "kernels/cpu/argmax.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "runtime/cpu_target_step.h"
#include "test_util.h"

using namespace tachyon;

namespace {

// Transformers computes in FP32 with other summation orders (and float cos/sin); the fixtures were
// chosen so that no greedy choice or expert choice is closer than 5e-3 / 1e-3 (their README).
constexpr float kLogitAtol = 2e-4f;
constexpr float kLogitRtol = 1e-4f;

// Max |ours - theirs| over a row, and whether every element is within tolerance.
bool close_rows(const float* ours, const float* theirs, size_t n, float& worst) {
  bool ok = true;
  for (size_t i = 0; i < n; ++i) {
    const float d = std::fabs(ours[i] - theirs[i]);
    worst = std::max(worst, d);
    ok &= d <= kLogitAtol + kLogitRtol * std::fabs(theirs[i]);
  }
  return ok;
}

void check_fixture(const std::string& name, const std::string& weights_dir, const std::string& convert_flags) {
  test::TempDir tmp("parity-" + name);
  const std::string model = tmp.file("model.h5");
  std::string log;
  REQUIRE_MESSAGE(test::run_tachyon("convert --from " + test::fixture("parity/" + weights_dir) + " --to " + model + " " +
                                    convert_flags, &log) == 0, log);
  const test::ParityExpected exp = test::load_parity_expected(name);
  CheckpointReader reader(model);
  const ModelConfig config = parse_model_config(reader.config_json(), model);
  const size_t V = config.vocab_size, T = exp.prompt.size(), S = exp.generated.size();
  REQUIRE(exp.prefill_logits.size() == T * V);

  comm::SingleProcess comm;
  const ShardPlan plan = make_shard_plan(config, 0, 1, MoeParallel::Tp);
  CpuTargetStep step(config, plan, load_target_weights(reader, config, plan), comm, 1, 64);

  // Prefill with logits at every position.
  StepBatch prefill;
  prefill.seqs.push_back({0, 0, static_cast<int32_t>(T), 0});
  prefill.tokens = exp.prompt;
  StepOutput out;
  step.run(prefill, out);
  float worst = 0.0f;
  for (size_t t = 0; t < T; ++t)
    CHECK_MESSAGE(close_rows(&out.logits[t * V], &exp.prefill_logits[t * V], V, worst), name, " prefill position ", t);

  // Greedy decode, one token per step, against transformers' incremental decode.
  int32_t token = cpu::argmax(&out.logits[(T - 1) * V], V);
  CHECK(token == exp.generated[0]);
  for (size_t s = 1; s < S; ++s) {
    StepBatch decode;
    decode.seqs.push_back({0, static_cast<int32_t>(T + s - 1), 1, 0});
    decode.tokens = {exp.generated[s - 1]};
    step.run(decode, out);
    CHECK_MESSAGE(close_rows(out.logits.data(), &exp.generated_logits[s * V], V, worst), name, " decode step ", s);
    token = cpu::argmax(out.logits.data(), V);
    CHECK_MESSAGE(token == exp.generated[s], name, " greedy token at step ", s);
  }
  MESSAGE(name, ": max |logit difference| vs transformers = ", worst);
}

}  // namespace

TEST_CASE("parity with transformers: qwen3_moe (two dense layers, BF16 weights)") {
  check_fixture("qwen3_moe", "qwen3_moe", "");
}

TEST_CASE("parity with transformers: qwen3_moe_tied_sharded (tied, sharded F32, sliding window 6, 4.x config)") {
  check_fixture("qwen3_moe_tied_sharded", "qwen3_moe_tied_sharded", "--dense f32 --experts f32");
}

TEST_CASE("parity with transformers: gpt_oss (MXFP4 experts as shipped, sinks, YaRN, window 8)") {
  check_fixture("gpt_oss", "gpt_oss", "");
}

TEST_CASE("parity with transformers: qwen3_moe converted to FP8 dense and MXFP4 experts") {
  check_fixture("qwen3_moe_fp8_mxfp4", "qwen3_moe", "--dense fp8 --experts mxfp4");
}
