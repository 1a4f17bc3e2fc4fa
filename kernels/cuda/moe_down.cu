// moe_down (kernels/cuda/moe.h): out[pair] = router_weight[pair] * (down_e . act[pair] +
// bias_scale * down_bias_e) for every pair of a local expert, zero rows for the others
// (moe_gemm_launch.cuh picks the kernel; a one-token step routed in-kernel: moe_down_one_token.cu; 2-16 tokens:
// moe_down_few_tokens.cu; with the combine + add + norm in its last CTA: moe_down_tail).
#include "kernels/cuda/moe.h"
#include "kernels/cuda/moe_gemm_launch.cuh"

namespace tachyon::cuda {

void moe_down(const float* act, int m, int top_k, const MoeRouting& routing, const DeviceExperts& down,
              const float* down_bias, float bias_scale, const float* weights, float* out, cudaStream_t stream) {
  const int n_pairs = m * top_k;
  CUDA_REQUIRE(n_pairs <= routing.max_pairs, "moe_down: m*top_k exceeds the routing buffers' capacity");
  CUDA_REQUIRE(down.experts >= routing.local_experts, "moe_down: fewer expert weights than local experts");
  if (n_pairs == 0 || down.first.rows == 0) return;
  const moe_detail::MoeGemmParams p =
      moe_detail::down_params(act, m, top_k, routing, down, down_bias, bias_scale, weights, out);
  moe_detail::launch_moe_gemm<moe_detail::Proj::Down>(p, stream, m);
}

void moe_down_tail(const float* act, int top_k, const MoeRouting& routing, const DeviceExperts& down,
                   const float* down_bias, float bias_scale, const float* weights, float* out, const MoeDownTail& tail,
                   cudaStream_t stream) {
  CUDA_REQUIRE(moe_down_tail_fits(1, top_k, routing, act, down, weights, tail),
               "moe_down_tail: where moe_down_tail_fits does not allow it");
  moe_detail::MoeGemmParams p = moe_detail::down_params(act, 1, top_k, routing, down, down_bias, bias_scale, weights, out);
  moe_detail::with_mma_layout(p, false);
  moe_detail::launch_down_one_token(p, tail, stream);
}

bool moe_down_tail_fits(int m, int top_k, const MoeRouting& routing, const float* act, const DeviceExperts& down,
                        const float* weights, const MoeDownTail& tail) {
  if (m != 1 || top_k <= 0 || down.first.rows == 0) return false;
  moe_detail::MoeGemmParams p = moe_detail::down_params(act, 1, top_k, routing, down, nullptr, 1.0f, weights, nullptr);
  return moe_detail::in_kernel_routing_fits(p, false) && moe_detail::with_mma_layout(p, false) &&
         moe_detail::one_token_down_tail_fits(p, tail);
}

}  // namespace tachyon::cuda
