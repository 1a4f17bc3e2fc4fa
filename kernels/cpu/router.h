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

// How far one token's choice is from a tie: the top_k-th minus the (top_k + 1)-th selection score, in
// the units the selection compares (logits for the softmax kinds, whose order softmax keeps; sigmoid
// plus correction bias for SigmoidTopK). A backend computing the logits in lower precision may pick
// another expert set only where this is smaller than its error. Infinity when top_k == num_experts.
float route_margin(const float* logits_row, const RouterParams& p);

}  // namespace tachyon::cpu
