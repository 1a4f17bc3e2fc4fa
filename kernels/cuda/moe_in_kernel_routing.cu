// moe_routes_in_kernel (kernels/cuda/moe.h): whether both expert GEMMs take the tensor-core kernel with
// in-kernel routing (moe_gemm_mma.cuh's route_in_cta) for this step's pairs, weights and activations.
#include "kernels/cuda/moe.h"
#include "kernels/cuda/moe_gemm_launch.cuh"

namespace tachyon::cuda {

bool moe_routes_in_kernel(int m, int top_k, const MoeRouting& routing, const float* x, const DeviceExperts& gate,
                          const DeviceExperts& up, const float* act, const DeviceExperts& down) {
  if (m <= 0 || top_k <= 0 || gate.first.rows == 0 || down.first.rows == 0) return false;
  const moe_detail::MoeGemmParams gu =
      moe_detail::gate_up_params(x, m, top_k, routing, gate, up, nullptr, nullptr, {}, nullptr);
  const moe_detail::MoeGemmParams dn = moe_detail::down_params(act, m, top_k, routing, down, nullptr, 1.0f, nullptr, nullptr);
  return moe_detail::in_kernel_routing_fits(gu, true) && moe_detail::in_kernel_routing_fits(dn, false);
}

}  // namespace tachyon::cuda
