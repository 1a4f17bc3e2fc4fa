// A gated MLP (one expert, or a dense MLP, or a slice of either):
//   out = down . act(gate . x + gate_bias, up . x + up_bias)
// Shapes: x [m, hidden]; gate, up [inter, hidden]; biases [inter] or null; down [hidden, inter];
// out [m, hidden]. The down projection's bias is the caller's business (with a sliced intermediate
// dimension it must be added once, after the partial sums are reduced).
#pragma once

#include <cstddef>

#include "kernels/cpu/swiglu.h"
#include "model/weight.h"

namespace tachyon::cpu {

struct GatedMlpWeights {
  MatrixView gate, up, down;
  const float* gate_bias = nullptr;
  const float* up_bias = nullptr;
};

void gated_mlp(const float* x, size_t m, const GatedMlpWeights& w, const SwigluParams& act, float* out);

}  // namespace tachyon::cpu
