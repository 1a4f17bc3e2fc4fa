#include "kernels/cpu/router.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <vector>

namespace tachyon::cpu {

namespace {
// Indices of the k largest values, largest first, lower index first among equals.
void top_k_indices(const float* v, int n, int k, int32_t* out) {
  std::vector<int32_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                    [&](int32_t a, int32_t b) { return v[a] > v[b] || (v[a] == v[b] && a < b); });
  std::copy(idx.begin(), idx.begin() + k, out);
}
}  // namespace

void route(const float* logits, size_t m, const RouterParams& p, int32_t* expert_ids, float* weights) {
  const int E = p.num_experts, K = p.top_k;
  std::vector<float> scores(E), selection(E);
  for (size_t t = 0; t < m; ++t) {
    const float* l = logits + t * E;
    int32_t* ids = expert_ids + t * K;
    float* w = weights + t * K;
    switch (p.kind) {
      case RouterKind::SoftmaxTopK: {
        const float mx = *std::max_element(l, l + E);
        double sum = 0.0;
        for (int e = 0; e < E; ++e) sum += std::exp(static_cast<double>(l[e]) - mx);
        for (int e = 0; e < E; ++e) scores[e] = static_cast<float>(std::exp(static_cast<double>(l[e]) - mx) / sum);
        top_k_indices(scores.data(), E, K, ids);
        for (int j = 0; j < K; ++j) w[j] = scores[ids[j]];
        break;
      }
      case RouterKind::TopKSoftmax: {
        top_k_indices(l, E, K, ids);
        const float mx = l[ids[0]];
        double sum = 0.0;
        for (int j = 0; j < K; ++j) sum += std::exp(static_cast<double>(l[ids[j]]) - mx);
        for (int j = 0; j < K; ++j) w[j] = static_cast<float>(std::exp(static_cast<double>(l[ids[j]]) - mx) / sum);
        break;
      }
      case RouterKind::SigmoidTopK: {
        for (int e = 0; e < E; ++e) {
          scores[e] = 1.0f / (1.0f + std::exp(-l[e]));
          selection[e] = scores[e] + (p.correction_bias ? p.correction_bias[e] : 0.0f);
        }
        top_k_indices(selection.data(), E, K, ids);
        for (int j = 0; j < K; ++j) w[j] = scores[ids[j]];
        break;
      }
    }
    if (p.normalize) {
      double sum = 0.0;
      for (int j = 0; j < K; ++j) sum += w[j];
      for (int j = 0; j < K; ++j) w[j] = static_cast<float>(w[j] / sum);
    }
    if (p.scaling != 1.0f)
      for (int j = 0; j < K; ++j) w[j] *= p.scaling;
  }
}

float route_margin(const float* l, const RouterParams& p) {
  const int E = p.num_experts, K = p.top_k;
  if (K >= E) return INFINITY;
  std::vector<float> selection(l, l + E);
  if (p.kind == RouterKind::SigmoidTopK)
    for (int e = 0; e < E; ++e)
      selection[e] = 1.0f / (1.0f + std::exp(-l[e])) + (p.correction_bias ? p.correction_bias[e] : 0.0f);
  std::partial_sort(selection.begin(), selection.begin() + K + 1, selection.end(), std::greater<float>());
  return selection[K - 1] - selection[K];
}

}  // namespace tachyon::cpu
