// The MXFP4 down projection of a step of one token, routed in-kernel: each CTA asks for its whole share of the
// weights with bulk copies before it waits for gate_up.
//
// Why: down's weights and routing are known two launches back (the expert ids and router weights come from
// moe_route), so the copies can go out while gate_up still runs. Beside the one-token gate_up
// (moe_one_token.cu: 137 KB of shared memory, 544 threads a CTA) a CTA of this kernel fits on the same SM, and
// its bytes can land during gate_up's decoding, when DRAM is idle. After the wait only x (gate_up's 256-2048
// outputs of the CTA's pairs) is staged and the tiles are decoded.
//
// Work: the step's local pairs x their 16-row tiles, pair-major, cut into one contiguous run a CTA (at most one
// pair's tiles, so at most two pairs: two copies of rows and two of scale bytes, one mbarrier a pair). Compute
// warp w takes tiles w, w + 16, ... of the run, each over all of K (one_token_tile), and writes its rows:
// router weight x (value + bias_scale x bias), as moe_down. Pairs of other ranks' experts get zero rows.
#include "kernels/cuda/moe_one_token.h"

#include <cstddef>
#include <cstdint>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/moe.h"
#include "kernels/cuda/moe_gemm_launch.cuh"
#include "kernels/cuda/moe_one_token.cuh"
#include "kernels/cuda/tma.cuh"

namespace tachyon::cuda::moe_detail {

constexpr int kDownComputeWarps = 16;
constexpr int kDownThreads = (kDownComputeWarps + 1) * 32;  // + the producer warp
constexpr int kDownMaxPairs = 2;                            // pairs a CTA's run of tiles can span

// Shared memory: `tiles` tiles of rows and their scale bytes, x of two pairs and a zero row (BF16 in the
// decoder's order), the two pairs' mbarriers.
__host__ __device__ constexpr size_t one_token_down_smem_bytes(int K, int tiles) {
  return static_cast<size_t>(tiles) * kOneTokenTileRows * (static_cast<size_t>(K) / 2 + static_cast<size_t>(K) / 32) +
         (kDownMaxPairs + 1) * 2 * static_cast<size_t>(K) + kDownMaxPairs * sizeof(uint64_t);
}

// The tail's shared memory (one_token_tail_bytes) past the rest.
__host__ __device__ constexpr size_t one_token_down_tail_offset(int K, int tiles) {
  return (one_token_down_smem_bytes(K, tiles) + 15) / 16 * 16;
}

// A CTA's run of tiles [t0, t1) and the (at most two) pairs it spans: tiles [t0, split) of the first, [split, t1)
// of the second. Every lane of the warp computes it.
struct DownRun {
  int t0, t1, split, n;
  int pair[kDownMaxPairs], expert[kDownMaxPairs], row0[kDownMaxPairs];  // row0: the pair's first row in the run

  // Pair s's fields by selects (an index by a run-time s would put the run on the stack).
  __device__ __forceinline__ int pair_of(int s) const { return s == 0 ? pair[0] : pair[1]; }
  __device__ __forceinline__ int expert_of(int s) const { return s == 0 ? expert[0] : expert[1]; }
  __device__ __forceinline__ int row0_of(int s) const { return s == 0 ? row0[0] : row0[1]; }

  __device__ __forceinline__ DownRun(const OneTokenPairs& pairs, int row_tiles) {
    const int T = pairs.count() * row_tiles;
    t0 = static_cast<int>(static_cast<int64_t>(T) * blockIdx.x / gridDim.x);
    t1 = static_cast<int>(static_cast<int64_t>(T) * (blockIdx.x + 1) / gridDim.x);
    const int lp = t0 / row_tiles;
    split = min(t1, (lp + 1) * row_tiles);
    n = t0 < t1 ? (split < t1 ? 2 : 1) : 0;
#pragma unroll
    for (int s = 0; s < kDownMaxPairs; ++s) {
      const bool used = s < n;
      pair[s] = used ? pairs.pair(lp + s) : 0;
      expert[s] = pairs.expert(pair[s]);
      row0[s] = ((s == 0 ? t0 : split) - (lp + s) * row_tiles) * kOneTokenTileRows;
    }
  }
};

__global__ void __launch_bounds__(kDownThreads, 1)
    moe_down_one_token_kernel(const MoeGemmParams p, int max_tiles, const MoeDownTail tail) {
  extern __shared__ __align__(16) uint8_t smem[];
  const int K = p.K, nb = p.nb, n_it = (nb + 3) / 4;
  const int row_bytes = K / 2, scale_bytes = K / 32;
  uint8_t* rows = smem;  // [tile of the run][16][K / 2]
  uint8_t* scales = rows + static_cast<size_t>(max_tiles) * kOneTokenTileRows * row_bytes;
  uint8_t* xs = scales + static_cast<size_t>(max_tiles) * kOneTokenTileRows * scale_bytes;  // [pair][2K], then zero
  uint8_t* zero = xs + kDownMaxPairs * 2 * K;
  uint64_t* bars = reinterpret_cast<uint64_t*>(zero + 2 * K);
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, gid = lane / 4, tig = lane % 4;

  one_token_prologue(bars, kDownMaxPairs, zero, K);

  // Before the wait: the routing and the weights are two launches old (launch.cuh's contract).
  const OneTokenPairs pairs(p);
  const int row_tiles = p.rows / kOneTokenTileRows;
  const DownRun run(pairs, row_tiles);
  if (warp == kDownComputeWarps && lane < run.n) {
    const int s = lane, e = run.expert_of(s);
    const int tiles = (s == 0 ? run.split : run.t1) - (s == 0 ? run.t0 : run.split);
    const size_t dst_row = static_cast<size_t>((s == 0 ? 0 : run.split - run.t0)) * kOneTokenTileRows;
    const size_t src_row = run.row0_of(s);
    const unsigned n_rows = tiles * kOneTokenTileRows;
    mbar_arrive_expect_tx(&bars[s], n_rows * (row_bytes + scale_bytes));
    bulk_copy(rows + dst_row * row_bytes, p.w0.first.data + e * p.w0.expert_data_stride + src_row * row_bytes,
              n_rows * row_bytes, &bars[s]);
    bulk_copy(scales + dst_row * scale_bytes, p.w0.first.scales + e * p.w0.expert_scale_stride + src_row * scale_bytes,
              n_rows * scale_bytes, &bars[s]);
  }
  if (tail.counter) one_token_tail_prologue(tail, p.rows);
  pdl_enter();  // gate_up's outputs (x) are the launch before's

  // Zero rows for the pairs of other ranks' experts (ep), a share of each such row a CTA.
  const unsigned nonlocal = __ballot_sync(kFullMask, lane < p.n_pairs) & ~pairs.local;
  for (unsigned m = nonlocal; m != 0; m &= m - 1) {
    const int pr = __ffs(m) - 1;
    const int r0 = static_cast<int>(static_cast<int64_t>(p.rows) * blockIdx.x / gridDim.x);
    const int r1 = static_cast<int>(static_cast<int64_t>(p.rows) * (blockIdx.x + 1) / gridDim.x);
    for (int r = r0 + tid; r < r1; r += blockDim.x) p.out[static_cast<size_t>(pr) * p.rows + r] = 0.0f;
  }
  if (run.n > 0) {
    if (warp < kDownComputeWarps)
      for (int s = 0; s < run.n; ++s)
        stage_one_token_x(p.in + static_cast<size_t>(run.pair_of(s)) * K, nb, xs + s * 2 * K, tid, kDownComputeWarps * 32);
    __syncthreads();
  }
  const int t_end = warp < kDownComputeWarps ? run.t1 : run.t0;  // the producer warp computes nothing
  for (int t = run.t0 + warp; t < t_end; t += kDownComputeWarps) {
    const int s = t < run.split ? 0 : 1;
    mbar_wait(&bars[s], 0);
    const int local_tile = t - run.t0;
    float acc[4] = {};
    one_token_tile(rows + static_cast<size_t>(local_tile) * kOneTokenTileRows * row_bytes,
                   scales + static_cast<size_t>(local_tile) * kOneTokenTileRows * scale_bytes, row_bytes, scale_bytes,
                   xs + s * 2 * K, zero, nb, 0, n_it, acc);
    const float v = one_token_quad_value(acc[0], acc[2]);
    const int pair = run.pair_of(s), e = run.expert_of(s);
    const int row = run.row0_of(s) + (t - (s == 0 ? run.t0 : run.split)) * kOneTokenTileRows + gid + 8 * (tig >> 1);
    if ((tig & 1) == 0)
      p.out[static_cast<size_t>(pair) * p.rows + row] = epilogue_value<Proj::Down>(p, e, row, v, 0.0f, p.pair_weight[pair]);
  }
  if (tail.counter)
    one_token_down_tail(tail, p.out, p.n_pairs, p.rows, smem + one_token_down_tail_offset(K, max_tiles));
}

// The most tiles a CTA's run can hold for p: a share of n_pairs x row_tiles over the SMs.
int one_token_down_max_tiles(const MoeGemmParams& p) {
  const int64_t tiles = static_cast<int64_t>(p.n_pairs) * (p.rows / kOneTokenTileRows);
  const int sms = device_limits().sms;
  return static_cast<int>((tiles + sms - 1) / sms);
}

bool one_token_down_applies(const MoeGemmParams& p) {
  if (!one_token_moe_enabled()) return false;
  if (p.w0.first.format != WeightFormat::MXFP4 || p.expert_ids == nullptr || p.pair_weight == nullptr) return false;
  if (p.n_pairs == 0 || p.n_pairs > 32 || p.rows % kOneTokenTileRows != 0 || p.K % 32 != 0) return false;
  if (4 * (p.K / 32) > kOneTokenMaxStage * kDownComputeWarps * 32 || !aligned16(p.in)) return false;
  if (!bulk_copyable_rows(p.w0, p.K)) return false;
  const int max_tiles = one_token_down_max_tiles(p);
  return max_tiles <= p.rows / kOneTokenTileRows &&
         one_token_down_smem_bytes(p.K, max_tiles) <= static_cast<size_t>(device_limits().smem_optin);
}

size_t one_token_down_launch_smem(const MoeGemmParams& p, const MoeDownTail& tail) {
  const int max_tiles = one_token_down_max_tiles(p);
  return tail.counter ? one_token_down_tail_offset(p.K, max_tiles) + one_token_tail_bytes(p.rows)
                      : one_token_down_smem_bytes(p.K, max_tiles);
}

bool one_token_down_tail_fits(const MoeGemmParams& p, const MoeDownTail& t) {
  // Rows of at least 512 floats: where combine_add_rmsnorm norms in the row layout too (narrower rows take one warp's
  // sum there, other bits); the layout's threads within the CTA's; at most kMaxSlotRows slot rows (slot_sum's bound,
  // as combine_add_rmsnorm's).
  const int hidden = p.rows;
  if (!one_token_down_applies(p) || !t.counter || !t.x || !t.norm || !t.y || p.n_pairs > kMaxSlotRows) return false;
  if (hidden < 512 || hidden % 4 != 0 || row_block_threads(hidden) > kDownThreads) return false;
  if (!aligned16(t.x) || !aligned16(t.norm) || !aligned16(t.y) || (t.delta && !aligned16(t.delta))) return false;
  return one_token_down_launch_smem(p, t) <= static_cast<size_t>(device_limits().smem_optin);
}

void launch_down_one_token(const MoeGemmParams& p, const MoeDownTail& tail, cudaStream_t stream) {
  static bool configured = false;
  if (!configured) {
    use_whole_shared_memory(moe_down_one_token_kernel, device_limits().smem_optin);
    configured = true;
  }
  launch(moe_down_one_token_kernel, {dim3(device_limits().sms), dim3(kDownThreads), one_token_down_launch_smem(p, tail)},
         stream, p, one_token_down_max_tiles(p), tail);
  CUDA_CHECK_LAUNCH();
}

}  // namespace tachyon::cuda::moe_detail

namespace tachyon::cuda {

bool moe_down_one_token(int m, int top_k, const MoeRouting& routing, const float* act, const DeviceExperts& down,
                        const float* weights) {
  if (m != 1 || top_k <= 0 || down.first.rows == 0) return false;
  moe_detail::MoeGemmParams p = moe_detail::down_params(act, m, top_k, routing, down, nullptr, 1.0f, weights, nullptr);
  return moe_detail::with_mma_layout(p, false) && moe_detail::one_token_down_applies(p);
}

}  // namespace tachyon::cuda
