#include "kernels/cpu/gated_mlp.h"

#include <algorithm>
#include <vector>

#include "kernels/cpu/matmul.h"
#include "model/error.h"

namespace tachyon::cpu {

void gated_mlp(const float* x, size_t m, const GatedMlpWeights& w, const SwigluParams& act, float* out) {
  const size_t inter = w.gate.rows;
  TACHYON_CHECK(w.up.rows == inter && w.down.cols == inter && w.down.rows == w.gate.cols,
                "gated_mlp shapes: gate [{}, {}], up [{}, {}], down [{}, {}]", w.gate.rows, w.gate.cols, w.up.rows,
                w.up.cols, w.down.rows, w.down.cols);
  if (inter == 0) {  // a rank whose slice of the intermediate dimension is empty
    std::fill(out, out + m * w.down.rows, 0.0f);
    return;
  }
  std::vector<float> g(m * inter), u(m * inter), a(m * inter);
  matmul(x, m, w.gate, g.data());
  matmul(x, m, w.up, u.data());
  if (w.gate_bias) add_bias(g.data(), m, inter, w.gate_bias);
  if (w.up_bias) add_bias(u.data(), m, inter, w.up_bias);
  swiglu(g.data(), u.data(), m * inter, act, a.data());
  matmul(a.data(), m, w.down, out);
}

}  // namespace tachyon::cpu
