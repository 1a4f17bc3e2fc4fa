// Picks and launches the expert GEMM for one projection: the tensor-core kernel (moe_gemm_mma.cuh) for
// MXFP4 and BF16 weights whose rows allow 16-byte loads, the FP32 kernel (moe_gemm_simple.cuh)
// otherwise. Both use a fixed grid (one CTA per SM) and read the routing from the device only.
#pragma once

#include <cuda_runtime.h>

#include <climits>
#include <cstdint>

#include "kernels/cuda/batch_invariant.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/moe_gemm_mma.cuh"
#include "kernels/cuda/moe_down_few_tokens.h"
#include "kernels/cuda/moe_gemm_simple.cuh"
#include "kernels/cuda/moe_one_token.h"

namespace tachyon::cuda::moe_detail {


struct DeviceLimits {
  int sms = 0, smem_optin = 0;
};

inline DeviceLimits device_limits() {
  static DeviceLimits cached[16];
  int dev = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  DeviceLimits& l = cached[dev % 16];
  if (l.sms == 0) {
    CUDA_CHECK(cudaDeviceGetAttribute(&l.smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
    l.sms = device_sm_count();
  }
  return l;
}

template <WeightFormat F, Proj P, int W, int D, int NTMAX, bool kPerSlot, bool kBlockCols, bool kSmemRing>
void launch_mma(const MoeGemmParams& p, size_t smem, cudaStream_t stream) {
  auto* kernel = moe_mma_kernel<F, P, W, D, NTMAX, kPerSlot, kBlockCols, kSmemRing>;
  static bool configured = false;  // raise the dynamic shared-memory limit once per instantiation
  if (!configured) {
    CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, device_limits().smem_optin));
    configured = true;
  }
  launch(kernel, {dim3(device_limits().sms), dim3(W * 32), smem}, stream, p);
  CUDA_CHECK_LAUNCH();
}

// The largest tokens-per-pass (in n-tiles of 8: 32, 16 or 8 tokens, at most max_tiles) whose staging
// fits in shared memory; 0 if none does. Experts with more tokens take several passes over their weights.
// The pairs in-kernel routing keeps in shared memory (0: moe_align's routing).
inline int routing_pairs(const MoeGemmParams& p) { return p.expert_ids ? p.n_pairs : 0; }

inline int pick_ntmax(const MoeGemmParams& p, int warps, int max_tiles, int routed_pairs, int ring_depth = 0) {
  for (int ntmax : {4, 2, 1})
    if (ntmax <= max_tiles && mma_smem_bytes(warps, ntmax, p.rs, p.local_experts, routed_pairs, ring_depth) <=
                                  static_cast<size_t>(device_limits().smem_optin))
      return ntmax;
  return 0;
}

// gate_up's token table (moe_gemm_mma.cuh's MmaRun): the step's tokens where every one is staged once, before the
// kernel's wait, and a pass reads its tokens' rows there; 0 where each pass stages its own. It takes steps of at most
// 16 tokens that fit the staging rows of a pass (8 x ntmax), by default (GateUpTokenTable::Auto) over K of at most
// kTokenTableMaxK: every CTA stages the whole table, while a pass stages only its expert's tokens. One H200, the same
// bits, against each pass staging its own (docs/benchmarks.md, session 41): Qwen3-30B-A3B (K = 2048) 1.002-1.006x at
// 1 x 9 and 1.006-1.007x at 8 x 1 in three calls; wider rows mixed, within about 1% either way except the Qwen3-235B-A22B
// slice (K = 4096) at 8 x 1, 0.986x, and at 1 x 9, 1.03x; the MiMo-V2.5-Pro slice (K = 6144) 0.996x at 8 x 1.
constexpr int kTokenTableMaxK = 2048;
int gate_up_table_tokens(const MoeGemmParams& p, int ntmax);  // moe_gate_up.cu

// kBlockCols: MXFP4 passes of one or two tokens take block columns (moe_gemm_mma.cuh's MmaCta).
// Batch invariance (batch_invariant.h): the K split a configuration of W warps and a ring of D k-iterations takes over
// rows of n_it k-iterations, whatever the routed pairs: the largest that divides the warps (at most 8) and leaves
// every split at least two whole rounds of the ring. The kernel otherwise chooses it from the amount of work
// (moe_gemm_mma.cuh's choose_split), and a token's sums follow the split. One round a split (Qwen3-30B-A3B's gate_up
// at K = 2048: 8 splits; its down at K = 768: 2) made the mode's step 0.99x / 0.93x / 0.90x / 0.87x at 1 x 1 / 1 x 9 /
// 8 x 1 / 8 x 9 against two (4 and 1), one H200, two rounds; the MiMo slice (gate_up K = 6144: 8 splits either way)
// and the embedded default target (1 split either way) unchanged (docs/benchmarks.md, session 45).
constexpr int invariant_k_split(int W, int D, int n_it) {
  int s = 1;
  while (2 * s <= 8 && W % (2 * s) == 0 && 2 * s * 2 * D <= n_it) s *= 2;
  return s;
}

template <WeightFormat F, Proj P, int W, int D, int kMaxTiles, bool kPerSlot, bool kBlockCols = P == Proj::Down,
          bool kSmemRing = false>
bool launch_mma_tokens(MoeGemmParams p, cudaStream_t stream) {
  if (batch_invariant()) p.fixed_split = invariant_k_split(W, D, (p.nb + 3) / 4);
  constexpr int ring = kSmemRing ? D : 0;
  const int ntmax = pick_ntmax(p, W, kMaxTiles, routing_pairs(p), ring);
  const size_t smem = mma_smem_bytes(W, ntmax, p.rs, p.local_experts, routing_pairs(p), ring);
  if constexpr (P == Proj::GateUp && !kBlockCols) p.table_tokens = gate_up_table_tokens(p, ntmax);
  if constexpr (kMaxTiles >= 4)
    if (ntmax == 4) return launch_mma<F, P, W, D, 4, kPerSlot, kBlockCols, kSmemRing>(p, smem, stream), true;
  if constexpr (kMaxTiles >= 2)
    if (ntmax == 2) return launch_mma<F, P, W, D, 2, kPerSlot, kBlockCols, kSmemRing>(p, smem, stream), true;
  if (ntmax == 1) return launch_mma<F, P, W, D, 1, kPerSlot, kBlockCols, kSmemRing>(p, smem, stream), true;
  return false;
}

// Whether the tensor-core kernel can take these weights: MXFP4 or BF16 (the same for both matrices),
// rows and experts starting on 16-byte boundaries, K a whole number of 16-byte blocks, and activation
// rows that allow float4 loads.
inline bool mma_path_applies(const MoeGemmParams& p, bool two_matrices) {
  const DeviceMatrix& m = p.w0.first;
  if (m.format != WeightFormat::MXFP4 && m.format != WeightFormat::BF16) return false;
  if (two_matrices && (p.w1.first.format != m.format || p.w1.first.data_row_stride != m.data_row_stride)) return false;
  const int block = m.format == WeightFormat::MXFP4 ? 32 : 8;
  if (p.K <= 0 || p.K % block != 0 || !aligned16(p.in)) return false;
  for (const DeviceExperts* w : {&p.w0, &p.w1})
    if (!aligned16(w->first.data) || w->first.data_row_stride % 16 != 0 || w->expert_data_stride % 16 != 0) return false;
  return true;
}

// Whether MXFP4 expert weights lie in runs that bulk copies (TMA) can take: each expert's rows and scale bytes
// contiguous (rows of exactly K / 2 data and K / 32 scale bytes), starting on 16-byte boundaries (the one- and
// several-token kernels: moe_one_token.cu, moe_down_one_token.cu, moe_down_few_tokens.cu).
inline bool bulk_copyable_rows(const DeviceExperts& w, int K) {
  const DeviceMatrix& m = w.first;
  return aligned16(m.data) && aligned16(m.scales) && m.data_row_stride == static_cast<size_t>(K) / 2 &&
         m.scale_row_stride == static_cast<size_t>(K) / 32 && w.expert_data_stride % 16 == 0 &&
         w.expert_scale_stride % 16 == 0;
}

// MXFP4 gate_up of a step of one or two tokens: no expert gets more than two (a token's top-k experts are
// distinct), so every pass takes block columns, in a kernel of their own (one n-tile a pass). One H200,
// session 12, against the usual kernel in the same call: the step 1.01x (Qwen3-30B-A3B) and 1.03x (MiMo
// slice) at 1 x 1, 1.01x and 1.05x at 2 x 1. (Compiled into the usual kernel, the same path made every
// other shape slower: Qwen3-30B-A3B's 8 x 1 0.94x.)
inline bool gate_up_block_columns(const MoeGemmParams& p) {
  // Batch invariance (batch_invariant.h): a token's sums as the n-tile kernel makes them at any token count.
  return !batch_invariant() && p.w0.first.format == WeightFormat::MXFP4 && p.in_row_div > 0 && p.n_pairs <= 2 * p.in_row_div;
}

// Kernel configurations: warps per CTA, k-iterations in flight per warp (the register ring's depth D),
// and, for MXFP4, whether the big-scale path is decided per ring slot or per round of D slots; at most 2
// n-tiles (16 tokens) per pass. BF16 is bound by memory and gets 16 warps. MXFP4 is bound by the
// decoder's instructions and latency chains; which configuration is best depends on the shape. The rule
// below was measured on one H200 in the whole step (Qwen3-30B-A3B and the MiMo-V2.5-Pro slice, 1-8
// sequences x 1-8 tokens, per projection with `tachyon bench step --timeline`) and on the other models'
// shapes with `tachyon bench kernels --only moe`; the figures are in docs/benchmarks.md, session 8.
// - many pairs (gate_up > 256, e.g. 8 sequences x 8 tokens; down >= 256), or a down projection of >= 4096
//   rows (more rows per CTA spread tall matrices better): 16 warps, depth 2 (at exactly 256 pairs 16 warps
//   made gate_up slower);
// - down over short rows (<= 12 k-iterations, K <= 1536): depth 2, decided per round (Qwen3-30B-A3B's
//   6 k-iterations a warp no longer round up to 8);
// - gate_up over long rows (> 32 k-iterations, K > 4096) or short ones (<= 24, K <= 3072), unless the step
//   has at most two tokens (block columns, then as below: 8 warps, depth 2, decided per round): 16 warps,
//   depth 2, decided per slot, the ring in shared memory (kSmemRing). The register ring's 8 warps held 195
//   registers a thread, one CTA an SM: two warps a scheduler could not hide the decoder's latency chains;
//   with the ring in shared memory 16 warps fit in 128 registers. One H200, same binary with and without
//   (docs/benchmarks.md, sessions 13 and 14): MiMo-V2.5-Pro's gate_up at 1-8 tokens an expert 1.36-1.40x
//   (kernel bench, 48-52% -> 66-73% of the copy bandwidth), 1.03x at 16, the MiMo slice step 1.04x / 1.11x /
//   1.18x at 1 x 8 / 8 x 1 / 8 x 8 (1 x 1, which takes block columns, 0.99x); Qwen3-30B-A3B's step (K = 2048)
//   1.05x at 8 x 1, 1.03x at 8 x 8, 1.00x at 1 x 8; gpt-oss-120b's gate_up (K = 2880) 1.00-1.03x. Not taken
//   between: Qwen3-235B-A22B's gate_up (K = 4096) 0.97x at one token and 0.94x at 16; nor for the down
//   projections, which were no faster;
// - otherwise 8 warps, depth 4, decided per slot: two rounds of a deep ring beat four of a shallow one
//   (Qwen3-30B-A3B's gate_up at one token, gpt-oss-120b's projections).
enum class Mxfp4Config { Warps8Depth4, Warps8Depth2, Warps16Depth2, Warps16Depth2SmemRing };
constexpr int kMmaWarpsBf16 = 16, kMmaMaxTiles = 2;
constexpr int kSmemRingWarps = 16, kSmemRingDepth = 2;  // Warps16Depth2SmemRing

inline Mxfp4Config mxfp4_config(const MoeGemmParams& p, bool down) {
  const int k_iterations = (p.K / 32 + 3) / 4;  // one 32-value block per quad lane
  if (!down && (k_iterations > 32 || k_iterations <= 24) && !gate_up_block_columns(p))
    return Mxfp4Config::Warps16Depth2SmemRing;
  // Batch invariance: the configuration (so the K ranges of a split) by the weight shape alone.
  const bool many_pairs = !batch_invariant() && (down ? p.n_pairs >= 256 : p.n_pairs > 256);
  if (many_pairs || (down && p.rows >= 4096)) return Mxfp4Config::Warps16Depth2;
  if (down ? k_iterations <= 12 : k_iterations > 32) return Mxfp4Config::Warps8Depth2;
  return Mxfp4Config::Warps8Depth4;
}

inline int mma_warps(const MoeGemmParams& p, bool down) {
  if (p.w0.first.format != WeightFormat::MXFP4) return kMmaWarpsBf16;
  const Mxfp4Config c = mxfp4_config(p, down);
  return c == Mxfp4Config::Warps16Depth2SmemRing ? kSmemRingWarps : c == Mxfp4Config::Warps16Depth2 ? 16 : 8;
}

// The slots of the configuration's shared-memory weight ring (0: the ring is in registers).
inline int mma_ring_depth(const MoeGemmParams& p, bool down) {
  return p.w0.first.format == WeightFormat::MXFP4 && mxfp4_config(p, down) == Mxfp4Config::Warps16Depth2SmemRing
             ? kSmemRingDepth
             : 0;
}

// The tensor-core kernel's layout fields for p (mma_path_applies must hold).
inline void set_mma_layout(MoeGemmParams& p) {
  p.nb = p.K / (p.w0.first.format == WeightFormat::MXFP4 ? 32 : 8);
  p.rs = (2 * p.K + 127) / 128 * 128 + 32;  // BF16 row, padded to 32 (mod 128) bytes against bank conflicts
}

// Whether the tensor-core path applies to p, its layout fields then set (what the launch, the in-kernel routing's
// check and the one-token kernels' checks take).
inline bool with_mma_layout(MoeGemmParams& p, bool two_matrices) {
  if (!mma_path_applies(p, two_matrices)) return false;
  set_mma_layout(p);
  return true;
}

// Whether the tensor-core kernel takes p with in-kernel routing: its path applies, and a pass and the
// routing of p.n_pairs pairs fit in shared memory, within the routing's limits.
inline bool in_kernel_routing_fits(MoeGemmParams p, bool two_matrices) {
  if (p.n_pairs > kInKernelRoutingMaxPairs || p.local_experts > kInKernelRoutingMaxExperts) return false;
  if (!with_mma_layout(p, two_matrices)) return false;
  return pick_ntmax(p, mma_warps(p, !two_matrices), kMmaMaxTiles, p.n_pairs, mma_ring_depth(p, !two_matrices)) > 0;
}

// Whether gate_up takes mxfp4_config's shared-memory ring for p: the configuration asks for it and a pass fits beside
// the ring in shared memory (where it does not, the register ring's 16 warps run). launch_moe_gemm and gate_up_ntmax
// both decide by it.
inline bool gate_up_smem_ring(const MoeGemmParams& p) {
  return mma_ring_depth(p, false) > 0 &&
         pick_ntmax(p, kSmemRingWarps, kMmaMaxTiles, routing_pairs(p), kSmemRingDepth) > 0;
}

// The n-tiles a pass of gate_up's tensor-core kernel (not a block-column one) holds for p, in the configuration
// launch_moe_gemm launches (the register ring's warps are mma_warps' 16 or 8; the ring's fallback is 16 too).
inline int gate_up_ntmax(const MoeGemmParams& p) {
  return pick_ntmax(p, mma_warps(p, false), kMmaMaxTiles, routing_pairs(p), gate_up_smem_ring(p) ? kSmemRingDepth : 0);
}
static_assert(kSmemRingWarps == 16, "gate_up_ntmax: the shared-memory ring's fallback runs as many warps as the ring");

// The kernel launch_moe_gemm<Proj::GateUp> runs for p at a step of `tokens` tokens, where the tensor-core path applies
// (with_mma_layout(p, true) holds): the one-token kernel (moe_one_token.cu), the block-column kernel (MXFP4 at one or
// two tokens, compiled only into the 8-warp configurations), or the tensor-core kernel over n-tiles, the one that may
// stage a token table. The launcher and moe_gate_up_token_table both ask this, so they cannot disagree.
enum class GateUpKernel { OneToken, BlockColumns, Tiles };
inline GateUpKernel gate_up_kernel(const MoeGemmParams& p, int tokens) {
  if (tokens == 1 && one_token_gate_up_applies(p)) return GateUpKernel::OneToken;
  if (gate_up_block_columns(p) && mma_warps(p, false) == 8) return GateUpKernel::BlockColumns;
  return GateUpKernel::Tiles;
}

// Down at a step of at most this many tokens (decode and verify blocks) runs a kernel with passes of one n-tile only:
// an expert named by 9-16 of the step's tokens, rare at such steps, then takes two passes over its weights, and the
// kernel without the two-n-tile code is smaller (the MiMo-V2.5-Pro slice's 16-warp down: 6288 SASS instructions against
// 8848). One H200, the same binary with an experiment switch, two rounds (docs/benchmarks.md, session 47): the MiMo
// slice's step 1.006-1.008x at 1 x 9 and 1.009x at 8 x 1, Qwen3-235B-A22B's slice 1.002-1.005x and 1.002-1.004x (both
// slices' down have K <= 256; wider rows at these steps take moe_down_few_tokens.cu's kernel).
constexpr int kDownOneTileMaxTokens = 16;

// block_columns: gate_up_kernel said BlockColumns (only the 8-warp configurations have that kernel); tokens: the
// step's m.
template <WeightFormat F, Proj P, int W, int D, bool kPerSlot>
bool launch_mxfp4(const MoeGemmParams& p, bool block_columns, int tokens, cudaStream_t stream) {
  if constexpr (P == Proj::GateUp && W == 8)
    if (block_columns) return launch_mma_tokens<F, P, W, D, 1, kPerSlot, true>(p, stream);
  if constexpr (P == Proj::Down) {
    // Batch invariance (batch_invariant.h): down's passes of one or two tokens an expert would take block columns.
    if (batch_invariant()) return launch_mma_tokens<F, P, W, D, kMmaMaxTiles, kPerSlot, false>(p, stream);
    if (tokens <= kDownOneTileMaxTokens) return launch_mma_tokens<F, P, W, D, 1, kPerSlot>(p, stream);
  }
  return launch_mma_tokens<F, P, W, D, kMmaMaxTiles, kPerSlot>(p, stream);
}

// tokens: the step's m. At one token, where its one-token kernel takes p (moe_one_token.h), that kernel runs; a down
// projection at 2-16 tokens, where moe_down_few_tokens.cu's kernel takes p, that one.
template <Proj P>
void launch_moe_gemm(MoeGemmParams p, cudaStream_t stream, int tokens) {
  CUDA_REQUIRE(!p.expert_ids || in_kernel_routing_fits(p, P == Proj::GateUp),
               "moe: in-kernel routing (MoeRouting::expert_ids) where moe_routes_in_kernel does not allow it");
  if (with_mma_layout(p, P == Proj::GateUp)) {
    // The kernel numbers its items (passes x row groups, at most pairs x 16-row tiles) in 32-bit ints, and
    // multiplies them by the CTA count to split them.
    CUDA_REQUIRE(static_cast<int64_t>(p.n_pairs) * ((p.rows + 15) / 16) * device_limits().sms < INT_MAX,
                 "moe: too many pairs x weight rows for one expert GEMM launch");
    bool block_columns = false;
    if constexpr (P == Proj::GateUp) {
      const GateUpKernel kernel = gate_up_kernel(p, tokens);
      if (kernel == GateUpKernel::OneToken) {
        launch_gate_up_one_token(p, stream);
        return;
      }
      block_columns = kernel == GateUpKernel::BlockColumns;
    } else {
      if (tokens == 1 && one_token_down_applies(p)) {
        launch_down_one_token(p, {}, stream);
        return;
      }
      if (few_token_down_applies(p, tokens)) {
        launch_down_few_tokens(p, tokens, stream);
        return;
      }
    }
    bool launched = false;
    if (p.w0.first.format != WeightFormat::MXFP4) {
      launched = launch_mma_tokens<WeightFormat::BF16, P, kMmaWarpsBf16, 2, kMmaMaxTiles, false>(p, stream);
    } else {
      switch (mxfp4_config(p, P == Proj::Down)) {
        case Mxfp4Config::Warps16Depth2SmemRing:  // gate_up only
          // Where the ring and a pass do not fit in shared memory, the register ring's 16 warps: the same warps, ring
          // depth and K split, so the same sums (batch invariance takes either, by the routed pairs' shared memory).
          if constexpr (P == Proj::GateUp)
            launched = gate_up_smem_ring(p) ? launch_mma_tokens<WeightFormat::MXFP4, P, kSmemRingWarps, kSmemRingDepth,
                                                                kMmaMaxTiles, true, false, true>(p, stream)
                                            : launch_mxfp4<WeightFormat::MXFP4, P, 16, 2, true>(p, block_columns,
                                                                                                 tokens, stream);
          break;
        case Mxfp4Config::Warps16Depth2:
          launched = launch_mxfp4<WeightFormat::MXFP4, P, 16, 2, true>(p, block_columns, tokens, stream);
          break;
        case Mxfp4Config::Warps8Depth2:
          launched = launch_mxfp4<WeightFormat::MXFP4, P, 8, 2, false>(p, block_columns, tokens, stream);
          break;
        case Mxfp4Config::Warps8Depth4:
          launched = launch_mxfp4<WeightFormat::MXFP4, P, 8, 4, true>(p, block_columns, tokens, stream);
          break;
      }
    }
    if (launched) return;
  }
  launch(moe_simple_kernel<P>, {dim3(device_limits().sms * 4), dim3(256)}, stream, p);
  CUDA_CHECK_LAUNCH();
}

}  // namespace tachyon::cuda::moe_detail
