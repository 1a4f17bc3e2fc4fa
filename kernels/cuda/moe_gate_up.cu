// moe_gate_up (kernels/cuda/moe.h): act[pair] = SwiGLU(gate_e . x[token] + gate_bias_e,
// up_e . x[token] + up_bias_e) for every pair of a local expert, gate and up in one pass over the
// expert's weights (moe_gemm_launch.cuh picks the kernel; a one-token step routed in-kernel: moe_one_token.cu).
#include <atomic>

#include "kernels/cuda/moe.h"
#include "kernels/cuda/moe_gemm_launch.cuh"

namespace tachyon::cuda {

namespace {
std::atomic<GateUpTokenTable> g_token_table{GateUpTokenTable::Auto};
}  // namespace

void set_moe_gate_up_token_table(GateUpTokenTable mode) { g_token_table.store(mode, std::memory_order_relaxed); }

namespace moe_detail {

int gate_up_table_tokens(const MoeGemmParams& p, int ntmax) {
  const GateUpTokenTable mode = g_token_table.load(std::memory_order_relaxed);
  if (mode == GateUpTokenTable::Never || p.in_row_div <= 0 || p.n_pairs % p.in_row_div != 0) return 0;
  const int tokens = p.n_pairs / p.in_row_div;
  if (tokens > 16 || tokens > 8 * ntmax) return 0;
  return mode == GateUpTokenTable::Always || p.K <= kTokenTableMaxK ? tokens : 0;
}

}  // namespace moe_detail

bool moe_gate_up_token_table(int m, int top_k, const MoeRouting& routing, const float* x, const DeviceExperts& gate,
                             const DeviceExperts& up) {
  if (m <= 0 || top_k <= 0 || gate.first.rows == 0) return false;
  moe_detail::MoeGemmParams p = moe_detail::gate_up_params(x, m, top_k, routing, gate, up, nullptr, nullptr, {}, nullptr);
  if (!moe_detail::with_mma_layout(p, true)) return false;
  if (moe_detail::gate_up_kernel(p, m) != moe_detail::GateUpKernel::Tiles) return false;
  return moe_detail::gate_up_table_tokens(p, moe_detail::gate_up_ntmax(p)) > 0;
}

void moe_gate_up(const float* x, int m, int top_k, const MoeRouting& routing, const DeviceExperts& gate,
                 const DeviceExperts& up, const float* gate_bias, const float* up_bias, const cpu::SwigluParams& act,
                 float* act_out, cudaStream_t stream) {
  const int n_pairs = m * top_k;
  CUDA_REQUIRE(n_pairs <= routing.max_pairs, "moe_gate_up: m*top_k exceeds the routing buffers' capacity");
  CUDA_REQUIRE(gate.first.rows == up.first.rows && gate.first.cols == up.first.cols,
               "moe_gate_up: gate and up must have the same shape");
  CUDA_REQUIRE(gate.experts >= routing.local_experts && up.experts >= routing.local_experts,
               "moe_gate_up: fewer expert weights than local experts");
  if (n_pairs == 0 || gate.first.rows == 0) return;
  const moe_detail::MoeGemmParams p =
      moe_detail::gate_up_params(x, m, top_k, routing, gate, up, gate_bias, up_bias, act, act_out);
  moe_detail::launch_moe_gemm<moe_detail::Proj::GateUp>(p, stream, m);
}

}  // namespace tachyon::cuda
