#include "kernels/cpu/swiglu.h"

#include <algorithm>
#include <cmath>

namespace tachyon::cpu {

void swiglu(const float* gate_in, const float* up_in, size_t n, const SwigluParams& p, float* out) {
  for (size_t i = 0; i < n; ++i) {
    float gate = gate_in[i], up = up_in[i];
    if (p.kind == SwigluKind::Standard) {
      out[i] = gate / (1.0f + std::exp(-gate)) * up;
    } else {
      gate = std::min(gate, p.limit);
      up = std::clamp(up, -p.limit, p.limit);
      out[i] = (up + 1.0f) * (gate / (1.0f + std::exp(-p.alpha * gate)));
    }
  }
}

}  // namespace tachyon::cpu
