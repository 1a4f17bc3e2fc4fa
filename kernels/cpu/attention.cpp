#include "kernels/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/matmul.h"

namespace tachyon::cpu {

void attention(const float* q, size_t n, const int32_t* q_pos, const float* k, const float* v, size_t n_keys,
               const int* kv_head_of, const AttentionShape& s, float scale, const AttentionMask& mask,
               const float* sinks, float* out) {
  std::vector<float> scores(n_keys);
  std::vector<double> acc(s.v_head_dim);
  const size_t k_row = static_cast<size_t>(s.num_kv_heads) * s.head_dim;
  const size_t v_row = static_cast<size_t>(s.num_kv_heads) * s.v_head_dim;
  for (size_t i = 0; i < n; ++i) {
    const int64_t p = q_pos[i];
    const int64_t hi = mask.causal ? std::min<int64_t>(p, static_cast<int64_t>(n_keys) - 1) : static_cast<int64_t>(n_keys) - 1;
    const int64_t lo = mask.window > 0 ? std::max<int64_t>(0, p - mask.window + 1) : 0;
    for (int h = 0; h < s.num_q_heads; ++h) {
      const float* qh = q + (i * s.num_q_heads + h) * s.head_dim;
      const int kvh = kv_head_of[h];
      float max_logit = sinks ? sinks[h] : -std::numeric_limits<float>::infinity();
      for (int64_t j = lo; j <= hi; ++j) {
        scores[j] = dot(qh, k + j * k_row + kvh * s.head_dim, s.head_dim) * scale;
        max_logit = std::max(max_logit, scores[j]);
      }
      double denom = sinks ? std::exp(static_cast<double>(sinks[h]) - max_logit) : 0.0;
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t j = lo; j <= hi; ++j) {
        const double w = std::exp(static_cast<double>(scores[j]) - max_logit);
        denom += w;
        const float* vj = v + j * v_row + kvh * s.v_head_dim;
        for (int d = 0; d < s.v_head_dim; ++d) acc[d] += w * vj[d];
      }
      float* o = out + (i * s.num_q_heads + h) * s.v_head_dim;
      for (int d = 0; d < s.v_head_dim; ++d) o[d] = denom > 0.0 ? static_cast<float>(acc[d] / denom) : 0.0f;
    }
  }
}

}  // namespace tachyon::cpu
