// Choosing tokens from logits that are split across ranks by vocabulary: no rank ever holds all logits.
//
// Greedy (temperature 0): the arg-max; among equal logits the lowest token id.
// Sampling: temperature, then top-k, then top-p (the order of Hugging Face's warpers), then one draw.
// The arithmetic is exact and independent of how the vocabulary is split: each kept token gets the
// fixed-point weight q = floor(exp((logit - max) / T) * 2^40), and every sum over tokens is an integer
// sum, which does not depend on the order in which ranks add it up. So N ranks choose exactly the
// token one rank would. Tokens with weight below 2^-40 of the most likely one are dropped (total mass
// at most vocab * 2^-40, below 4e-6 for a million tokens). Ties at the top-k or top-p boundary are all
// kept. The draw is a pure function of (seed, counter) (runtime/rng.h).
#pragma once

#include <cstdint>
#include <vector>

#include "comm/collectives.h"
#include "runtime/shard_plan.h"
#include "runtime/step.h"

namespace tachyon {

struct SamplingParams {
  float temperature = 0.0f;  // 0: greedy
  float top_p = 1.0f;
  int32_t top_k = 0;         // 0: off
  uint64_t seed = 0;

  bool greedy() const { return temperature <= 0.0f || top_k == 1; }
};

// One row to choose a token for: its parameters and the index of the draw (the request's output
// position), so that a request's n-th token uses the same randomness however it is computed.
struct SamplingRow {
  SamplingParams params;
  uint64_t counter = 0;
};

class DistributedSampler {
 public:
  DistributedSampler(comm::Collectives& comm, Range vocab_slice);

  // logits: [rows.size(), vocab slice]; every rank calls with the same rows. Returns the chosen ids.
  std::vector<int32_t> choose(const float* logits, const std::vector<SamplingRow>& rows);
  // The same from a step's output: greedy rows use its local arg-max when it has one, so that a GPU
  // step needs to copy logits to the host only for sampled rows.
  std::vector<int32_t> choose(const StepOutput& out, const std::vector<SamplingRow>& rows);

  static bool any_sampled(const std::vector<SamplingRow>& rows);

 private:
  std::vector<LocalArgmax> local_argmax(const float* logits, size_t n) const;
  std::vector<int32_t> argmax(const std::vector<LocalArgmax>& local);
  std::vector<int32_t> sample(const float* logits, const std::vector<SamplingRow>& rows);

  comm::Collectives& comm_;
  Range vocab_;
};

}  // namespace tachyon
