// The MXFP4 gate_up of a step of one token (plain decoding of one sequence): its top-k pairs name distinct
// experts, and each CTA asks for its whole share of their weights at once, with a few bulk copies (TMA) into
// shared memory, while its compute warps stage x.
//
// Why a kernel of its own: at this size (the MiMo-V2.5-Pro tp slice: 8 experts x 512 rows x 3 KB, 12.6 MB) the
// block-column kernel (moe_gemm_mma.cuh) took 13 us where the bytes take 3 at the copy bandwidth. Its
// per-thread weight loads (a ring of D k-iterations, in registers or by cp.async) hold the warps at issue while
// DRAM drains them, and its routing tables, pass set-up and staging sit in front of the rest of the ring; a
// deeper ring was slower (docs/benchmarks.md, session 21). Here a producer warp issues four copies, and the
// whole 12.6 MB lands ~4.4 us after the PDL wait (one H200, %globaltimer probes). The decoding after it is
// bound by the integer pipes (3 instructions a pair of values): 8 warps took 4 us, the 16 here ~3.
//
// Work: a unit is 16 rows of gate and the same 16 rows of up of one local pair's expert, one unit a CTA (the
// kernel applies only where every unit gets its own CTA; CTAs past the units return). Each matrix's 16 rows
// are one contiguous run, copied whole with its scale bytes on the matrix's own mbarrier. Compute warp w takes
// m-tile w % 2 (gate, up) and K split w / 2 of 8.
//
// The arithmetic is the block-column kernel's for one token (mma_steps_mxfp4_unscaled, the scale in FP32
// afterwards, the 8 K splits' partials added over the same fixed tree, the quad's butterfly, the SwiGLU
// epilogue); where that kernel also splits K 8 ways at 6 k-iterations a warp (MiMo-V2.5-Pro's rows) the
// outputs are the same bits.
#include "kernels/cuda/moe_one_token.h"

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/moe.h"
#include "kernels/cuda/moe_gemm_launch.cuh"
#include "kernels/cuda/moe_gemm_mma.cuh"
#include "kernels/cuda/moe_one_token.cuh"
#include "kernels/cuda/tma.cuh"

namespace tachyon::cuda::moe_detail {

constexpr int kOneTokenSplits = 8;                          // K splits (as the block-column kernel at 8 warps)
constexpr int kOneTokenComputeWarps = 2 * kOneTokenSplits;  // x the two m-tiles
constexpr int kOneTokenThreads = (kOneTokenComputeWarps + 1) * 32;  // + the producer warp
constexpr int kOneTokenUnitRows = kOneTokenTileRows;  // of each matrix

// Shared memory of the kernel, in bytes: the unit's 32 weight rows (gate, then up) and their scale bytes, x
// and a zero row (BF16 in the decoder's order), the K splits' partials and the two matrices' mbarriers.
__host__ __device__ constexpr size_t one_token_smem_bytes(int K) {
  return 2 * kOneTokenUnitRows * (static_cast<size_t>(K) / 2 + static_cast<size_t>(K) / 32)  // weights, scales
         + 2 * (2 * static_cast<size_t>(K))                                                // x, zero row
         + kOneTokenSplits * kMT * 128 * sizeof(float) + kMT * sizeof(uint64_t);
}

// This CTA's unit: the b-th over the step's local pairs (pair-major). Every lane of the warp calls it; valid =
// false past the last unit.
struct OneTokenUnit {
  bool valid;
  int pair, expert, row_tile;

  __device__ __forceinline__ OneTokenUnit(const MoeGemmParams& p, int b) {
    const OneTokenPairs pairs(p);
    const int row_tiles = (p.rows + kOneTokenUnitRows - 1) / kOneTokenUnitRows;
    const int lp = b / row_tiles;
    valid = lp < pairs.count();
    row_tile = b - lp * row_tiles;
    pair = valid ? pairs.pair(lp) : 0;
    expert = pairs.expert(pair);
  }
};

// The k-iterations [k0, k1) (4 blocks of 32 values a quad each) of K split ks.
struct OneTokenSplit {
  int k0, k1;
};
__device__ __forceinline__ OneTokenSplit one_token_split(int n_it, int ks) {
  const int J = (n_it + kOneTokenSplits - 1) / kOneTokenSplits;
  return {min(ks * J, n_it), min((ks + 1) * J, n_it)};
}

__global__ void __launch_bounds__(kOneTokenThreads, 1) moe_gate_up_one_token_kernel(const MoeGemmParams p) {
  extern __shared__ __align__(16) uint8_t smem[];
  const int K = p.K, nb = p.nb, n_it = nb / 4;  // K % 512 == 0: whole k-iterations
  const size_t row_bytes = K / 2, scale_bytes = K / 32;
  uint8_t* rows = smem;  // [m-tile][16][K / 2]
  uint8_t* scales = rows + 2 * kOneTokenUnitRows * row_bytes;
  uint8_t* xs = scales + 2 * kOneTokenUnitRows * scale_bytes;
  uint8_t* zero = xs + 2 * K;
  float* red = reinterpret_cast<float*>(zero + 2 * K);  // [split][m-tile][4][32]
  uint64_t* bars = reinterpret_cast<uint64_t*>(red + kOneTokenSplits * kMT * 128);  // [m-tile]
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, gid = lane / 4, tig = lane % 4;

  one_token_prologue(bars, kMT, zero, K);
  pdl_enter();  // the expert ids and x are the launches before's

  const OneTokenUnit u(p, blockIdx.x);
  if (!u.valid) return;
  if (warp == kOneTokenComputeWarps) {
    // Producer: lane m copies the unit's rows of matrix m (gate, up) and their scale bytes, each one run of
    // contiguous rows (one_token_gate_up_applies): a few large copies, since each copy costs the copy engine
    // time of its own (a probe on one H200: 8 copies of 384 bytes a row took this launch from 10 to 15 us).
    const int rows_here = min(kOneTokenUnitRows, p.rows - u.row_tile * kOneTokenUnitRows);
    if (lane < kMT) {
      // (Selecting fields, not a reference to p.w0 or p.w1: the reference put the parameter on the stack.)
      const size_t row = static_cast<size_t>(u.row_tile) * kOneTokenUnitRows;
      const uint8_t* data = (lane == 0 ? p.w0.first.data : p.w1.first.data) +
                            u.expert * (lane == 0 ? p.w0.expert_data_stride : p.w1.expert_data_stride) + row * row_bytes;
      const uint8_t* sc = (lane == 0 ? p.w0.first.scales : p.w1.first.scales) +
                          u.expert * (lane == 0 ? p.w0.expert_scale_stride : p.w1.expert_scale_stride) + row * scale_bytes;
      mbar_arrive_expect_tx(&bars[lane], rows_here * (row_bytes + scale_bytes));
      bulk_copy(rows + lane * kOneTokenUnitRows * row_bytes, data, rows_here * row_bytes, &bars[lane]);
      bulk_copy(scales + lane * kOneTokenUnitRows * scale_bytes, sc, rows_here * scale_bytes, &bars[lane]);
    }
  } else {
    stage_one_token_x(p.in, nb, xs, tid, kOneTokenComputeWarps * 32);
  }
  __syncthreads();

  const int mt = warp % 2, ks = warp / 2;
  if (warp < kOneTokenComputeWarps) {
    const OneTokenSplit sp = one_token_split(n_it, ks);
    float acc[4] = {};
    mbar_wait(&bars[mt], 0);
    one_token_tile(rows + mt * kOneTokenUnitRows * row_bytes, scales + mt * kOneTokenUnitRows * scale_bytes,
                   static_cast<int>(row_bytes), static_cast<int>(scale_bytes), xs, zero, nb, sp.k0, sp.k1, acc);
#pragma unroll
    for (int i = 0; i < 4; ++i) red[((ks * kMT + mt) * 4 + i) * 32 + lane] = acc[i];
  }
  __syncthreads();
  if (warp == 0) {
    // The splits' partials over MmaCta::run_item's fixed tree ((0 + 1) + (2 + 3)) + ((4 + 5) + (6 + 7)), then
    // the quad's four lanes' blocks (every lane gets the same bits); lane tig = 0 / 2 writes row gid / gid + 8.
    // Only accumulators 0 and 2 (column 2 tig: token 0) are summed.
    float v[kMT][2];
#pragma unroll
    for (int m = 0; m < kMT; ++m)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        float a[kOneTokenSplits];
#pragma unroll
        for (int k = 0; k < kOneTokenSplits; ++k) a[k] = red[((k * kMT + m) * 4 + 2 * h) * 32 + lane];
#pragma unroll
        for (int step = 1; step < kOneTokenSplits; step *= 2)
#pragma unroll
          for (int k = 0; k < kOneTokenSplits; k += 2 * step) a[k] += a[k + step];
        v[m][h] = a[0];
      }
    const float g = one_token_quad_value(v[0][0], v[0][1]), up = one_token_quad_value(v[1][0], v[1][1]);
    const int row = u.row_tile * kOneTokenUnitRows + gid + 8 * (tig >> 1);
    if ((tig & 1) == 0 && row < p.rows) {
      p.out[static_cast<size_t>(u.pair) * p.rows + row] = epilogue_value<Proj::GateUp>(p, u.expert, row, g, up, 1.0f);
    }
  }
}

// Whether the one-token gate_up kernel takes p: MXFP4 weights, in-kernel routing of one token's pairs
// (distinct experts, at most 32), contiguous rows that bulk copies can take (16-byte boundaries; K a multiple
// of 512, at most 8192), a unit for every CTA at most, and its shared memory.
namespace {
std::atomic<bool> g_one_token_enabled{true};
}

bool one_token_moe_enabled() { return g_one_token_enabled.load(std::memory_order_relaxed); }

bool one_token_gate_up_applies(const MoeGemmParams& p) {
  if (p.w0.first.format != WeightFormat::MXFP4 || p.w1.first.format != WeightFormat::MXFP4) return false;
  if (p.expert_ids == nullptr || p.n_pairs != p.in_row_div || p.n_pairs > 32 || p.n_pairs == 0) return false;
  if (p.K % 512 != 0 || 4 * (p.K / 32) > kOneTokenMaxStage * kOneTokenComputeWarps * 32 || !aligned16(p.in)) return false;
  for (const DeviceExperts* w : {&p.w0, &p.w1}) {
    const DeviceMatrix& m = w->first;
    if (!aligned16(m.data) || !aligned16(m.scales) || m.data_row_stride != static_cast<size_t>(p.K) / 2 ||
        m.scale_row_stride != static_cast<size_t>(p.K) / 32 || w->expert_data_stride % 16 != 0 ||
        w->expert_scale_stride % 16 != 0)
      return false;
  }
  const int64_t units = static_cast<int64_t>(p.n_pairs) * ((p.rows + kOneTokenUnitRows - 1) / kOneTokenUnitRows);
  return units <= device_limits().sms &&
         one_token_smem_bytes(p.K) <= static_cast<size_t>(device_limits().smem_optin);
}

void launch_gate_up_one_token(const MoeGemmParams& p, cudaStream_t stream) {
  static bool configured = false;
  if (!configured) {
    use_whole_shared_memory(moe_gate_up_one_token_kernel, device_limits().smem_optin);
    configured = true;
  }
  launch(moe_gate_up_one_token_kernel, {dim3(device_limits().sms), dim3(kOneTokenThreads), one_token_smem_bytes(p.K)},
         stream, p);
  CUDA_CHECK_LAUNCH();
}

}  // namespace tachyon::cuda::moe_detail

namespace tachyon::cuda {

void set_moe_one_token_kernel(bool enabled) { moe_detail::g_one_token_enabled.store(enabled, std::memory_order_relaxed); }

bool moe_gate_up_one_token(int m, int top_k, const MoeRouting& routing, const float* x, const DeviceExperts& gate,
                           const DeviceExperts& up) {
  if (m != 1 || top_k <= 0 || gate.first.rows == 0) return false;
  moe_detail::MoeGemmParams p = moe_detail::gate_up_params(x, m, top_k, routing, gate, up, nullptr, nullptr, {}, nullptr);
  if (!moe_detail::mma_path_applies(p, true)) return false;
  moe_detail::set_mma_layout(p);
  return moe_detail::one_token_gate_up_applies(p);
}

}  // namespace tachyon::cuda
