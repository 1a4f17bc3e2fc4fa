// Speculative decoding's mechanics, independent of how good a drafter is: an oracle drafter that knows
// plain decoding's output proposes it (sometimes deliberately wrong), and the output must equal plain
// decoding's token for token, greedy and sampled, for every block size, in batches of mixed lengths,
// with stop tokens and max_tokens falling inside blocks. Also the rejection rule's statistics.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "comm/collectives.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "runtime/cpu_target_step.h"
#include "runtime/drafter.h"
#include "runtime/generator.h"
#include "runtime/rng.h"
#include "test_util.h"

using namespace tachyon;
using nlohmann::json;

namespace {

// Proposes the next tokens of plain decoding's output for the request whose prompt it recognises; every
// `wrong_every`-th draft position (by absolute position) is replaced by a wrong token.
class OracleDrafter final : public Drafter {
 public:
  OracleDrafter(std::map<std::vector<int32_t>, std::vector<int32_t>> outputs, int wrong_every, int vocab)
      : outputs_(std::move(outputs)), wrong_every_(wrong_every), vocab_(vocab) {}
  const std::vector<int>& tap_layers() const override { return taps_; }
  void add_context(const std::vector<DraftContext>& chunks) override {
    for (const auto& c : chunks) CHECK(c.count > 0);
    contexts += chunks.size();
  }
  void rollback(int, int) override {}
  std::vector<Draft> draft(const std::vector<DraftRequest>& requests) override {
    std::vector<Draft> out;
    for (const auto& r : requests) {
      const std::vector<int32_t> prompt(r.prompt.begin(), r.prompt.end());
      const std::vector<int32_t>& truth = outputs_.at(prompt);
      REQUIRE(r.output.size() >= 1);
      CHECK(r.anchor_token == r.output.back());
      CHECK(r.position == static_cast<int>(prompt.size() + r.output.size() - 1));
      Draft d;
      for (int i = 1; i < r.block_size; ++i) {
        const size_t k = r.output.size() + i - 1;  // output index this draft proposes
        int32_t t = k < truth.size() ? truth[k] : 0;
        if (wrong_every_ > 0 && (r.position + i) % wrong_every_ == 0) t = (t + 1) % vocab_;
        d.tokens.push_back(t);
      }
      out.push_back(std::move(d));
    }
    return out;
  }
  size_t contexts = 0;

 private:
  std::map<std::vector<int32_t>, std::vector<int32_t>> outputs_;
  std::vector<int> taps_;
  int wrong_every_, vocab_;
};

using test::read_jsonl;

struct Setup {
  test::TempDir tmp{"speculative"};
  std::string model;
  ModelConfig config;
  std::vector<std::vector<int32_t>> prompts;
};

GenerationSummary generate(Setup& s, const std::string& prompts, const std::string& out, int max_batch, int block,
                           Drafter* drafter) {
  CheckpointReader reader(s.model);
  comm::SingleProcess comm;
  const ShardPlan plan = make_shard_plan(s.config, 0, 1, MoeParallel::Tp);
  CpuTargetStep step(s.config, plan, load_target_weights(reader, s.config, plan), comm, max_batch, 256);
  StepWatchdog watchdog(0);
  GenerateOptions o;
  o.prompts_path = prompts;
  o.output_path = out;
  o.max_batch = max_batch;
  o.max_model_len = 256;
  o.block_size = block;
  o.defaults.seed = 99;
  return run_generation(o, s.config, step, comm, watchdog, nullptr, drafter);
}

}  // namespace

TEST_CASE("speculative: an oracle drafter's output equals plain decoding for every block size") {
  Setup s;
  std::string log;
  s.model = s.tmp.file("m.h5");
  REQUIRE(test::run_tachyon("convert --random-config " + test::fixture("models/random_qwen3_moe.json") + " --seed 8 --to " +
                            s.model, &log) == 0);
  s.config = parse_model_config(CheckpointReader(s.model).config_json(), s.model);
  // Mixed lengths, greedy and sampled rows, stop tokens, and max_tokens that end inside blocks.
  {
    std::ofstream p(s.tmp.file("p.jsonl"));
    for (int i = 0; i < 7; ++i) {
      std::vector<int32_t> ids;
      for (int k = 0; k < 2 + i * 5; ++k) ids.push_back((i * 53 + k * 7 + 3) % s.config.vocab_size);
      s.prompts.push_back(ids);
      json r{{"id", i}, {"input_ids", ids}, {"max_tokens", 17 + 3 * i}};
      if (i % 2) r["temperature"] = 1.0, r["top_p"] = 0.9;
      if (i == 4) r["stop_token_ids"] = {5, 77, 123, 200};
      p << r.dump() << "\n";
    }
  }
  const GenerationSummary plain = generate(s, s.tmp.file("p.jsonl"), s.tmp.file("plain.jsonl"), 3, 0, nullptr);
  const auto ref = read_jsonl(s.tmp.file("plain.jsonl"));
  REQUIRE(ref.size() == 7);
  std::map<std::vector<int32_t>, std::vector<int32_t>> truth;
  for (size_t i = 0; i < ref.size(); ++i) truth[s.prompts[i]] = ref[i]["token_ids"].get<std::vector<int32_t>>();
  for (int wrong_every : {0, 3, 5}) {
    for (int block : {2, 3, 8, 16}) {
      OracleDrafter oracle(truth, wrong_every, s.config.vocab_size);
      const std::string out = s.tmp.file(fmt::format("spec-{}-{}.jsonl", wrong_every, block));
      const GenerationSummary spec = generate(s, s.tmp.file("p.jsonl"), out, 3, block, &oracle);
      const auto got = read_jsonl(out);
      REQUIRE(got.size() == ref.size());
      for (size_t i = 0; i < ref.size(); ++i) {
        CHECK_MESSAGE(got[i]["token_ids"] == ref[i]["token_ids"], "block ", block, " wrong_every ", wrong_every, " request ", i);
        CHECK(got[i]["finish_reason"] == ref[i]["finish_reason"]);
      }
      CHECK(spec.completion_tokens == plain.completion_tokens);
      CHECK(oracle.contexts > 0);
      // A perfect oracle commits a whole block per pass: n tokens take the prefill's pass plus
      // ceil((n - 1) / block) verify passes.
      if (wrong_every == 0) {
        uint64_t passes = 0;
        for (const auto& r : ref) passes += 1 + (r["token_ids"].size() - 1 + block - 1) / block;
        CHECK(spec.target_passes == passes);
      }
      if (wrong_every == 3) CHECK(spec.acceptance_length() < 3.01);
      CHECK(spec.acceptance_length() >= 1.0);
      if (wrong_every == 0 && block > 2) CHECK(spec.steps < plain.steps);
      MESSAGE("block ", block, ", a wrong draft every ", wrong_every, " positions: acceptance length ",
              spec.acceptance_length(), ", ", spec.steps, " steps vs ", plain.steps, " plain");
    }
  }
}

TEST_CASE("speculative: the acceptance rule is lossless, and a broken one is caught (chi-square)") {
  // A target distribution p over 6 tokens and a deterministic draft x. The rule used by the generator:
  // sample y ~ p with the position's randomness; keep x iff y == x, else emit y. Its output law must be p.
  const std::vector<double> p = {0.05, 0.30, 0.10, 0.25, 0.20, 0.10};
  const int32_t x = 3;
  auto sample = [&](uint64_t seed, uint64_t counter) {
    double u = random_unit(seed, counter), acc = 0;
    for (size_t t = 0; t < p.size(); ++t)
      if (u < (acc += p[t])) return static_cast<int32_t>(t);
    return static_cast<int32_t>(p.size() - 1);
  };
  auto correct = [&](uint64_t seed) { return sample(seed, 0); };  // accept x iff the sample is x, else the sample
  auto broken = [&](uint64_t seed) {  // "accept x with probability p(x)", then resample from p itself (not the residual)
    return random_unit(seed, 1) < p[x] ? x : sample(seed, 2);
  };
  // Pearson's chi-square against p over N draws; 5 degrees of freedom, critical value 20.52 at p = 0.001.
  auto chi_square = [&](const std::function<int32_t(uint64_t)>& rule) {
    const int N = 200000;
    std::vector<double> counts(p.size(), 0);
    for (int i = 0; i < N; ++i) counts[rule(1000 + i)] += 1;
    double chi = 0;
    for (size_t t = 0; t < p.size(); ++t) chi += std::pow(counts[t] - N * p[t], 2) / (N * p[t]);
    return chi;
  };
  const double good = chi_square(correct), bad = chi_square(broken);
  MESSAGE("chi-square: lossless rule ", good, ", broken rule ", bad, " (critical 20.52 at p = 0.001)");
  CHECK(good < 20.52);
  CHECK(bad > 20.52);
}
