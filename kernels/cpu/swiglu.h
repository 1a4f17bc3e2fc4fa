// The gated activation of an MLP: out = act(gate, up), elementwise over [m, inter].
//   Standard:      out = silu(gate) * up
//   GptOssClamped: gate = min(gate, limit); up = clamp(up, -limit, limit);
//                  out = (up + 1) * gate * sigmoid(alpha * gate)
#pragma once

#include <cstddef>

#include "model/config.h"

namespace tachyon::cpu {

struct SwigluParams {
  SwigluKind kind = SwigluKind::Standard;
  float limit = 0.0f;
  float alpha = 1.0f;
};

void swiglu(const float* gate, const float* up, size_t n, const SwigluParams& p, float* out);

}  // namespace tachyon::cpu
