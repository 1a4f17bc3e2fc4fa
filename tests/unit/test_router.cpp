// The router's tie margin (cpu::route_margin), which the GPU step test uses to tell a legitimate change
// of experts (a near-tie under BF16 rounding) from a wrong result.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "kernels/cpu/router.h"

using namespace tachyon;

TEST_CASE("route_margin is the gap between the last chosen and the first unchosen selection score") {
  const std::vector<float> logits = {0.5f, 2.0f, -1.0f, 1.25f, 1.0f};
  cpu::RouterParams p{RouterKind::SoftmaxTopK, 5, 2, true, 1.0f, nullptr};
  CHECK(cpu::route_margin(logits.data(), p) == doctest::Approx(0.25f));  // 1.25 chosen, 1.0 not
  p.kind = RouterKind::TopKSoftmax;
  p.top_k = 3;
  CHECK(cpu::route_margin(logits.data(), p) == doctest::Approx(0.5f));  // 1.0 chosen, 0.5 not
  p.top_k = 5;
  CHECK(std::isinf(cpu::route_margin(logits.data(), p)));  // every expert chosen: nothing to flip
}

TEST_CASE("route_margin of a sigmoid router compares sigmoid plus correction bias, as its selection does") {
  const std::vector<float> logits = {0.0f, 0.0f, 3.0f};
  const std::vector<float> bias = {0.3f, 0.0f, -0.9f};
  const cpu::RouterParams p{RouterKind::SigmoidTopK, 3, 1, true, 1.0f, bias.data()};
  // selection: 0.8, 0.5, sigmoid(3) - 0.9 = 0.0526; expert 0 wins by 0.3 over expert 1
  CHECK(cpu::route_margin(logits.data(), p) == doctest::Approx(0.3f));
  std::vector<int32_t> ids(1);
  std::vector<float> w(1);
  cpu::route(logits.data(), 1, p, ids.data(), w.data());
  CHECK(ids[0] == 0);
}
