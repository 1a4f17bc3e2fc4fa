// MoE routing: from router logits [m, num_experts] to the top_k experts of each token and their
// weights, for every router kind of model/config.h. Ties between equal scores go to the lower expert
// index. Outputs: expert_ids [m, top_k] (in descending score order) and weights [m, top_k].
#pragma once

#include <cstddef>
#include <cstdint>

#include "model/config.h"

namespace tachyon::cpu {

struct RouterParams {
  RouterKind kind = RouterKind::SoftmaxTopK;
  int num_experts = 0;
  int top_k = 0;
  bool normalize = false;             // renormalise the top_k weights to sum to 1
  float scaling = 1.0f;               // routed_scaling_factor (sigmoid routers)
  const float* correction_bias = nullptr;  // [num_experts], SigmoidTopK selection only
};

void route(const float* logits, size_t m, const RouterParams& p, int32_t* expert_ids, float* weights);

}  // namespace tachyon::cpu
