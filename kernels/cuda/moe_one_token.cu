// The MXFP4 gate_up of a step of one token (plain decoding of one sequence): its top-k pairs name distinct
// experts, and each CTA asks for its whole share of their weights at once, with copies (TMA) into shared memory
// that its compute warps consume as they land.
//
// Why a kernel of its own: at this size (the MiMo-V2.5-Pro tp slice: 8 experts x 512 rows x 3 KB, 12.6 MB) the
// block-column kernel (moe_gemm_mma.cuh) took 13 us where the bytes take 3 at the copy bandwidth. Its
// per-thread weight loads (a ring of D k-iterations, in registers or by cp.async) hold the warps at issue while
// DRAM drains them, and its routing tables, pass set-up and staging sit in front of the rest of the ring; a
// deeper ring was slower (docs/benchmarks.md, session 21). Here a producer warp issues the copies, and the
// whole 12.6 MB lands ~4.4 us after the PDL wait (one H200, %globaltimer probes). The decoding is bound by the
// integer pipes (3 instructions a pair of values): 8 warps took 4 us, the 16 here ~3, so it runs while the
// later boxes land (session 35).
//
// Work: a unit is 16 T rows of gate and the same rows of up of one local pair's expert, one unit a CTA (the
// kernel applies only where every unit gets its own CTA; CTAs past the units return; OneTokenConfig says which
// T). Compute warp w takes one 16-row tile of the unit and one of S K splits, and waits for each box of its
// split (kChunk k-iterations of the unit's rows, one 2-D copy) before using it.
//
// The arithmetic is the block-column kernel's for one token (mma_steps_mxfp4_unscaled, the scale in FP32
// afterwards, the K splits' partials added over the same fixed tree, the quad's butterfly, the SwiGLU
// epilogue); where that kernel also splits K 8 ways at 6 k-iterations a warp (MiMo-V2.5-Pro's rows, T = 1,
// S = 8) the outputs are the same bits.
#include "kernels/cuda/moe_one_token.h"

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/moe.h"
#include "kernels/cuda/moe_gemm_launch.cuh"
#include "kernels/cuda/moe_gemm_mma.cuh"
#include "kernels/cuda/moe_one_token.cuh"
#include "kernels/cuda/tensor_map.h"
#include "kernels/cuda/tma.cuh"

namespace tachyon::cuda::moe_detail {

// Weights land in boxes of kChunk k-iterations (128 bytes of each of a unit's rows: one L2 line), one copy and
// one mbarrier a box, issued chunk by chunk across the K splits, so that every compute warp starts on its first
// chunk while later ones are in flight. (One copy of each matrix's whole run of rows made the warps wait for all
// of it: the run landed ~4.4 us after the PDL wait and its decoding took ~3 more, one H200, session 21.)
constexpr int kChunk = 2;
constexpr int kChunkBytes = kChunk * 64;

// A configuration: T m-tiles of each matrix a unit (16 T rows of gate and of up) and S K splits, one compute
// warp a (tile, split), plus the producer warp. <1, 8> where every 16-row unit gets a CTA (MiMo-V2.5-Pro's and
// Qwen3-235B-A22B's slices: the block-column kernel's split, so its bits); <3, 4> where units of 48 rows do
// (Qwen3-30B-A3B: 8 x 16 units over 128 CTAs).
template <int T, int S>
struct OneTokenConfig {
  static constexpr int kTiles = T, kSplits = S;
  static constexpr int kUnitRows = T * kOneTokenTileRows;  // of each matrix
  static constexpr int kComputeWarps = 2 * T * S;
  static constexpr int kThreads = (kComputeWarps + 1) * 32;
  static constexpr int kBoxBytes = kUnitRows * kChunkBytes;
  static_assert(kThreads <= 1024, "a CTA of at most 1024 threads");

  // k-iterations a split (the last may be shorter) of n_it in all, and chunks a split for K values a row.
  __host__ __device__ static constexpr int split_its(int n_it) { return (n_it + S - 1) / S; }
  __host__ __device__ static constexpr int chunks(int K) { return (split_its(K / 128) + kChunk - 1) / kChunk; }
  __host__ __device__ static constexpr int boxes(int K) { return 2 * S * chunks(K); }
  // Shared memory, bytes: the boxes (chunk-major, then split, then matrix), the unit's scale bytes (gate, then up),
  // x and a zero row (BF16 in the decoder's order), the K splits' partials, and the mbarriers (the two matrices'
  // scale bytes, then one a box).
  static constexpr size_t smem_bytes(int K) {
    return static_cast<size_t>(boxes(K)) * kBoxBytes + 2 * static_cast<size_t>(kUnitRows) * (static_cast<size_t>(K) / 32) +
           2 * (2 * static_cast<size_t>(K)) + static_cast<size_t>(S) * 2 * T * 128 * sizeof(float) +
           (2 + static_cast<size_t>(boxes(K))) * sizeof(uint64_t);
  }
  // The k-iterations [k0, k1) (4 blocks of 32 values a quad each) of K split ks.
  __device__ static int2 split(int n_it, int ks) {
    const int J = split_its(n_it);
    return make_int2(min(ks * J, n_it), min((ks + 1) * J, n_it));
  }
};
using OneTokenNarrow = OneTokenConfig<1, 8>;
using OneTokenWide = OneTokenConfig<3, 4>;

// This CTA's unit: the b-th over the step's local pairs (pair-major), of unit_rows rows of each matrix. Every lane
// of the warp calls it; valid = false past the last unit.
struct OneTokenUnit {
  bool valid;
  int pair, expert, row_tile;

  __device__ __forceinline__ OneTokenUnit(const MoeGemmParams& p, int b, int unit_rows) {
    const OneTokenPairs pairs(p);
    const int row_tiles = (p.rows + unit_rows - 1) / unit_rows;
    const int lp = b / row_tiles;
    valid = lp < pairs.count();
    row_tile = b - lp * row_tiles;
    pair = valid ? pairs.pair(lp) : 0;
    expert = pairs.expert(pair);
  }
};

// gate_map / up_map: the matrices' tensor maps (mxfp4_expert_rows_map) with boxes of kChunkBytes x kUnitRows.
template <class C>
__global__ void __launch_bounds__(C::kThreads, 1)
    moe_gate_up_one_token_kernel(const MoeGemmParams p, const __grid_constant__ CUtensorMap gate_map,
                                 const __grid_constant__ CUtensorMap up_map) {
  constexpr int T = C::kTiles, S = C::kSplits, kRows = C::kUnitRows;
  extern __shared__ __align__(128) uint8_t smem[];
  const int K = p.K, nb = p.nb, n_it = nb / 4;  // K % 512 == 0: whole k-iterations
  const int n_boxes = C::boxes(K);
  const size_t scale_bytes = K / 32;
  uint8_t* boxes = smem;  // [box (chunk c, split ks, matrix m) = (c S + ks) 2 + m][kRows][kChunkBytes]
  uint8_t* scales = boxes + static_cast<size_t>(n_boxes) * C::kBoxBytes;  // [matrix][kRows][K / 32]
  uint8_t* xs = scales + 2 * kRows * scale_bytes;
  uint8_t* zero = xs + 2 * K;
  float* red = reinterpret_cast<float*>(zero + 2 * K);  // [split][tile of the unit: gate 0..T-1, up T..2T-1][4][32]
  uint64_t* bars = reinterpret_cast<uint64_t*>(red + S * 2 * T * 128);  // [matrix's scales][box]
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, gid = lane / 4, tig = lane % 4;

  one_token_prologue(bars, 2 + n_boxes, zero, K);
  // x is at least two launches old (moe.h): staged before the wait, while the router's launches run.
  if (warp < C::kComputeWarps) stage_one_token_x(p.in, nb, xs, tid, C::kComputeWarps * 32);
  pdl_enter();  // the expert ids are the launch before's

  const OneTokenUnit u(p, blockIdx.x, kRows);
  if (!u.valid) return;
  if (warp == C::kComputeWarps) {
    // Producer: lanes 0 and 1 copy the scale bytes of gate's and up's rows (one contiguous run each), then the
    // lanes copy the boxes in index order, so chunk 0 of every split is asked for first. A box past the last
    // k-iteration of its split is not copied (nor waited for); rows past the expert's last come as zeros.
    const int row = u.row_tile * kRows;
    if (lane < 2) {
      const int rows_here = min(kRows, p.rows - row);
      // (Selecting fields, not a reference to p.w0 or p.w1: the reference put the parameter on the stack.)
      const uint8_t* sc = (lane == 0 ? p.w0.first.scales : p.w1.first.scales) +
                          u.expert * (lane == 0 ? p.w0.expert_scale_stride : p.w1.expert_scale_stride) + row * scale_bytes;
      mbar_arrive_expect_tx(&bars[lane], rows_here * scale_bytes);
      bulk_copy(scales + lane * kRows * scale_bytes, sc, rows_here * scale_bytes, &bars[lane]);
    }
    for (int i = lane; i < n_boxes; i += 32) {
      const int m = i % 2, ks = (i / 2) % S, c = i / (2 * S);
      const int2 sp = C::split(n_it, ks);  // the compute warps' own bounds: the boxes they wait for
      const int kit0 = sp.x + c * kChunk;
      if (kit0 < sp.y) {
        mbar_arrive_expect_tx(&bars[2 + i], C::kBoxBytes);
        tensor_copy_3d(boxes + static_cast<size_t>(i) * C::kBoxBytes, m == 0 ? &gate_map : &up_map, kit0 * 16, row,
                       u.expert, &bars[2 + i]);
      }
    }
  }
  __syncthreads();  // x staged

  if (warp < C::kComputeWarps) {
    const int ti = warp % (2 * T), ks = warp / (2 * T);  // tile of the unit (gate tiles, then up tiles), K split
    const int m = ti / T, tt = ti % T;
    const int2 sp = C::split(n_it, ks);
    const uint8_t* xrow = one_token_xrow(xs, zero);
    const uint8_t* sc = scales + (m * kRows + tt * kOneTokenTileRows) * scale_bytes;
    float acc[4] = {};
    mbar_wait(&bars[m], 0);
    for (int kit0 = sp.x, c = 0; kit0 < sp.y; kit0 += kChunk, ++c) {
      const int i = (c * S + ks) * 2 + m;
      mbar_wait(&bars[2 + i], 0);
      const uint8_t* box = boxes + static_cast<size_t>(i) * C::kBoxBytes + tt * kOneTokenTileRows * kChunkBytes;
      const int kend = min(kit0 + kChunk, sp.y);
      for (int kit = kit0; kit < kend; ++kit)
        one_token_kstep(box + ((kit - kit0) * 4 + tig) * 16, kChunkBytes, sc, static_cast<int>(scale_bytes), xrow, nb,
                        kit * 4 + tig, acc);
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) red[((ks * 2 * T + ti) * 4 + i) * 32 + lane] = acc[i];
  }
  __syncthreads();
  if (warp < T) {
    // Warp t: tile t's gate and up rows. The splits' partials over MmaCta::run_item's fixed tree ((0 + 1) + (2 + 3))
    // + ..., then the quad's four lanes' blocks (every lane gets the same bits); lane tig = 0 / 2 writes row gid /
    // gid + 8. Only accumulators 0 and 2 (column 2 tig: token 0) are summed.
    float v[2][2];
#pragma unroll
    for (int m = 0; m < 2; ++m)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        float a[S];
#pragma unroll
        for (int k = 0; k < S; ++k) a[k] = red[((k * 2 * T + m * T + warp) * 4 + 2 * h) * 32 + lane];
#pragma unroll
        for (int step = 1; step < S; step *= 2)
#pragma unroll
          for (int k = 0; k < S; k += 2 * step) a[k] += a[k + step];
        v[m][h] = a[0];
      }
    const float g = one_token_quad_value(v[0][0], v[0][1]), up = one_token_quad_value(v[1][0], v[1][1]);
    const int row = u.row_tile * kRows + warp * kOneTokenTileRows + gid + 8 * (tig >> 1);
    if ((tig & 1) == 0 && row < p.rows)
      p.out[static_cast<size_t>(u.pair) * p.rows + row] = epilogue_value<Proj::GateUp>(p, u.expert, row, g, up, 1.0f);
  }
}

namespace {
std::atomic<bool> g_one_token_enabled{true};

// The configuration whose units (of its rows) each get a CTA, narrow first; 0: neither.
int one_token_config(const MoeGemmParams& p) {
  const int sms = device_limits().sms;
  const auto fits = [&](int unit_rows, size_t smem) {
    return static_cast<int64_t>(p.n_pairs) * ((p.rows + unit_rows - 1) / unit_rows) <= sms &&
           smem <= static_cast<size_t>(device_limits().smem_optin);
  };
  if (fits(OneTokenNarrow::kUnitRows, OneTokenNarrow::smem_bytes(p.K))) return 1;
  if (fits(OneTokenWide::kUnitRows, OneTokenWide::smem_bytes(p.K))) return 3;
  return 0;
}

template <class C>
void launch_one_token_config(const MoeGemmParams& p, cudaStream_t stream) {
  static bool configured = false;
  if (!configured) {
    use_whole_shared_memory(moe_gate_up_one_token_kernel<C>, device_limits().smem_optin);
    configured = true;
  }
  const CUtensorMap gate_map = mxfp4_expert_rows_map(p.w0, p.K, kChunkBytes / 4, C::kUnitRows);
  const CUtensorMap up_map = mxfp4_expert_rows_map(p.w1, p.K, kChunkBytes / 4, C::kUnitRows);
  launch(moe_gate_up_one_token_kernel<C>, {dim3(device_limits().sms), dim3(C::kThreads), C::smem_bytes(p.K)}, stream, p,
         gate_map, up_map);
  CUDA_CHECK_LAUNCH();
}
}  // namespace

// Batch invariance (batch_invariant.h) leaves both kernels out: their sums are the block-column kernel's, not the n-tile
// kernel's that every other token count takes.
bool one_token_moe_enabled() { return g_one_token_enabled.load(std::memory_order_relaxed) && !batch_invariant(); }

// Whether the one-token gate_up kernel takes p (a step of one token: the caller knows m = 1): the kernels
// enabled, MXFP4 weights, in-kernel routing of the token's pairs (distinct experts, at most 32), contiguous
// rows that bulk copies can take (16-byte boundaries; K a multiple of 512, at most 8192), a CTA for every unit
// of one of the configurations, and its shared memory.
bool one_token_gate_up_applies(const MoeGemmParams& p) {
  if (!one_token_moe_enabled()) return false;
  if (p.w0.first.format != WeightFormat::MXFP4 || p.w1.first.format != WeightFormat::MXFP4) return false;
  if (p.expert_ids == nullptr || p.n_pairs > 32 || p.n_pairs == 0) return false;
  if (p.K % 512 != 0 || 4 * (p.K / 32) > kOneTokenMaxStage * 16 * 32 || !aligned16(p.in)) return false;
  return bulk_copyable_rows(p.w0, p.K) && bulk_copyable_rows(p.w1, p.K) && one_token_config(p) != 0;
}

void launch_gate_up_one_token(const MoeGemmParams& p, cudaStream_t stream) {
  if (one_token_config(p) == 1) launch_one_token_config<OneTokenNarrow>(p, stream);
  else launch_one_token_config<OneTokenWide>(p, stream);
}

}  // namespace tachyon::cuda::moe_detail

namespace tachyon::cuda {

void set_moe_one_token_kernel(bool enabled) { moe_detail::g_one_token_enabled.store(enabled, std::memory_order_relaxed); }

bool moe_gate_up_one_token(int m, int top_k, const MoeRouting& routing, const float* x, const DeviceExperts& gate,
                           const DeviceExperts& up) {
  if (m != 1 || top_k <= 0 || gate.first.rows == 0) return false;
  moe_detail::MoeGemmParams p = moe_detail::gate_up_params(x, m, top_k, routing, gate, up, nullptr, nullptr, {}, nullptr);
  return moe_detail::with_mma_layout(p, true) && moe_detail::one_token_gate_up_applies(p);
}

}  // namespace tachyon::cuda
