// Dense linear layer on Hopper: y[m, rows] (= or +=) x[m, cols] . W^T (+ bias), for a weight in its
// stored format, streaming the weight from HBM once (see linear.h for the contract).
//
// Organisation for decode and verify shapes (m <= 72; larger m is done in equal launches of <= 72 rows):
// - A warp owns a tile of 16 weight rows (32 with MT = 2; 4 on the FMA path's narrow variant, for
//   matrices of few rows) and walks the CTA's K range of it in chunks,
//   with non-allocating 16-byte loads. Tensor-core path: lane (g, t) (g = lane / 4, t = lane % 4) loads
//   16 contiguous bytes of rows g and g + 8, so the 4 lanes of a row group read 64 contiguous bytes (the
//   mma fragment fixes which lanes hold which rows). FMA path: 8 lanes per row read a whole 128-byte
//   line, rows lane / 8 + 4 j. D chunks are in flight per lane (a register ring, pipelined across the
//   warp's tiles).
// - A CTA (8 warps) owns R = 8 * tiles_per_warp * (rows of a tile) rows and one K slice; its slice of x is staged
//   once in shared memory (BF16 for the tensor-core path, FP32 for the FMA path).
// - The K slices of one row block are the CTAs of a thread-block cluster: each writes its partial sums
//   into its own shared memory, and the cluster adds them through distributed shared memory in a fixed
//   order (deterministic; no workspace, no atomics), then applies bias / accumulate.
// - Tensor-core path (BF16/FP8 weights, m > kLinearFp32MaxM): mma.sync m16n8k16 with the weight as the
//   A operand (16 rows) and x as B (8 tokens per n-tile): "swap AB". A dot product may sum its k in any
//   order, so a fragment's k slots {2t, 2t+1, 2t+8, 2t+9} are mapped to 4 contiguous k of the lane's
//   16-byte piece, and the B fragment is read from the same k of x: no shuffles, one 16-byte load.
//   FP8: E4M3 -> BF16 by moving bits (value * 2^-120, exact), accumulated over one 128-wide scale block
//   in a temporary accumulator, then acc += tmp * scale * 2^56: x is staged as BF16(x * 2^64), an exact
//   power-of-two shift that keeps every product far from FP32 subnormals.
// - FMA path (m <= 2 for BF16/FP8, all m for F32/MXFP4, MB tokens per CTA along grid y): the same
//   streaming, register decode to FP32, FMA against FP32 x, lanes of a row group reduced by shuffles.
//   One or two rows over BF16/FP8 weights take the persistent row stream instead wherever it applies
//   (linear_stream.h; faster at every measured shape): these kernels keep them when a plan is asked for.
#include <cooperative_groups.h>
#include <cuda_bf16.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <cstdint>
#include <type_traits>

#include "kernels/cuda/batch_invariant.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/ldg_stream.cuh"
#include "kernels/cuda/mma.cuh"
#include "kernels/cuda/dequant.cuh"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/linear_split_x.h"
#include "kernels/cuda/linear_stream.h"
#include "model/fp8.h"

namespace tachyon::cuda {

namespace {

namespace cg = cooperative_groups;

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr int kMaxMmaTokens = 72;  // 8 sequences' verify blocks of 9 in one launch (each weight read once)
constexpr int kMaxSplits = 8;  // portable cluster size
constexpr int kSmemLimit = 200 * 1024;
// CTAs of `smem` bytes of dynamic shared memory that fit on one SM (Hopper: 228 KB, each CTA also
// reserving 1 KB).
constexpr int ctas_per_sm_by_smem(size_t smem) { return static_cast<int>((228 * 1024) / (smem + 1024)); }

// Elements per 16-byte piece.
template <WeightFormat F>
constexpr int kElems = F == WeightFormat::F32 ? 4 : F == WeightFormat::BF16 ? 8 : F == WeightFormat::FP8 ? 16 : 32;

template <WeightFormat F>
__device__ __forceinline__ ptrdiff_t byte_offset(int k) {
  if constexpr (F == WeightFormat::F32) return 4 * static_cast<ptrdiff_t>(k);
  else if constexpr (F == WeightFormat::BF16) return 2 * static_cast<ptrdiff_t>(k);
  else if constexpr (F == WeightFormat::FP8) return k;
  else return k / 2;
}

// One weight matrix of a launch and its output. A launch may hold several matrices over the same x (a
// layer's q, k and v projections): their row blocks follow one another along grid x, so that one
// launch's fixed cost (staging x, filling the pipeline, the cluster reduction) is paid once.
struct Part {
  const uint8_t* w;
  size_t w_stride;
  int rows;
  const uint8_t* scales;
  size_t scale_stride;
  int scale_row0;
  float* y;
  const float* bias;
  int aligned;     // 16-byte weight loads are aligned (else the byte-wise path)
  int row_block0;  // the launch's first row block that belongs to this part
};

struct Args {
  const float* x;
  int m;  // tokens of this launch
  int cols;
  int shift;  // FP8: scale_col0. K is walked in kk = k + shift, so chunks and slices align with blocks.
  int scale_grid_cols;
  int accumulate;
  int splits, ks, tiles_per_warp;
  int x_vec4;  // x rows can be read as float4 at the slice starts
  int parts;
  Part part[kMaxLinearParts];
};

// The part that row block `rb` belongs to, chosen with constant indices (a kernel parameter indexed
// at run time would be copied to local memory).
__device__ __forceinline__ Part part_of(const Args& a, int rb) {
  Part p = a.part[0];
#pragma unroll
  for (int i = 1; i < kMaxLinearParts; ++i)
    if (i < a.parts && rb >= a.part[i].row_block0) p = a.part[i];
  return p;
}

// The row tail, the columns before an FP8 slice's first one, or rows that are not 16-byte aligned:
// byte by byte. Out of line, so that the streaming loop stays small in the instruction cache.
template <WeightFormat F>
__device__ __noinline__ uint4 load_piece_slow(const uint8_t* row, int k, int cols) {
  constexpr int E = kElems<F>;
  const uint8_t* base = row + byte_offset<F>(k);
  uint32_t v[4] = {0u, 0u, 0u, 0u};
#pragma unroll
  for (int j = 0; j < 16; ++j) {
    const int e = k + j * E / 16;  // the element byte j belongs to
    if (e >= 0 && e < cols) v[j / 4] |= static_cast<uint32_t>(base[j]) << (8 * (j % 4));
  }
  return make_uint4(v[0], v[1], v[2], v[3]);
}

// The 16 bytes of row `row` that hold elements [k, k + kElems); zeros for elements outside [0, cols)
// and for rows past the end.
template <WeightFormat F>
__device__ __forceinline__ void load_piece(const Part& w, int cols, int row, int k, uint32_t (&v)[4]) {
  constexpr int E = kElems<F>;
  v[0] = v[1] = v[2] = v[3] = 0u;
  if (row >= w.rows) return;
  const uint8_t* p = w.w + static_cast<size_t>(row) * w.w_stride;
  if (w.aligned && k >= 0 && k + E <= cols) {
    ldg_stream16(p + byte_offset<F>(k), v);
    return;
  }
  const uint4 q = load_piece_slow<F>(p, k, cols);
  v[0] = q.x, v[1] = q.y, v[2] = q.z, v[3] = q.w;
}


// Four consecutive elements (group q of the piece) decoded to FP32, without any scale.
template <WeightFormat F>
__device__ __forceinline__ void decode4(const uint32_t (&v)[4], int q, float (&o)[4]) {
  if constexpr (F == WeightFormat::F32) {
#pragma unroll
    for (int i = 0; i < 4; ++i) o[i] = __uint_as_float(v[i]);
  } else if constexpr (F == WeightFormat::BF16) {
    const float2 a = decode_bf16x2(v[2 * q]), b = decode_bf16x2(v[2 * q + 1]);
    o[0] = a.x, o[1] = a.y, o[2] = b.x, o[3] = b.y;
  } else if constexpr (F == WeightFormat::FP8) {
    const float4 a = decode_e4m3x4(v[q]);
    o[0] = a.x, o[1] = a.y, o[2] = a.z, o[3] = a.w;
  } else {
    // Elements 4 (q % 2) .. + 3 of word q / 2 (decode order): the low or high halves of its four pairs.
#pragma unroll
    for (int i = 0; i < 4; ++i) o[i] = mxfp4_element_scaled(v[q / 2], 4 * (q % 2) + i);
  }
}

// One lane's share of a chunk: P pieces of 16 bytes (tensor-core path: rows g and g + 8 of each of
// MT 16-row groups, piece 2 * mt + h; FMA path: rows lane / 8 + 4 j), and the factor that multiplies
// each (FP8 block scale, MXFP4 block factor; unused for F32/BF16).
template <int P>
struct Frag {
  uint32_t v[P][4];
  float s[P];  // the scales as loaded; scale_factor turns them into factors when the chunk is computed
};

// The factor of a piece's scale as `load` keeps it: the FP8 block scale (times 2^56 on the tensor-core path:
// 2^120 (decode) / 2^64 (x)), the MXFP4 block factor of its E8M0 byte (0 where the piece has no block). The
// loads leave the values untouched so that a warp does not wait for its scale loads while it issues the rest
// of the ring's loads (docs/benchmarks.md, session 33: that wait was 6% of the FP8 kernel's stall samples).
template <WeightFormat F, bool kMma>
__device__ __forceinline__ float scale_factor(float s) {
  if constexpr (F == WeightFormat::FP8) return kMma ? s * 72057594037927936.0f : s;
  else if constexpr (F == WeightFormat::MXFP4) {
    const uint32_t b = __float_as_uint(s);
    return b == 0u ? 0.0f : mxfp4_block_factor(static_cast<uint8_t>(b));
  } else return s;
}

// K per chunk and row: 64 bytes of a row per 4 lanes on the tensor-core path (the mma fragment puts
// the 4 lanes of a row group on one row), 128 bytes (a whole L2 line) per 8 lanes on the FMA path.
template <WeightFormat F, bool kMma>
constexpr int kChunkK = (kMma ? 4 : 8) * kElems<F>;

// K slices are whole chunks and whole FP8 scale blocks.
template <WeightFormat F, bool kMma>
constexpr int kGranule = kChunkK<F, kMma> > 128 ? kChunkK<F, kMma> : 128;

// FP: pieces per lane on the FMA path: 4 (16-row warp tiles) or 1 (4-row tiles, for matrices of few rows
// such as a router, where 128-row CTAs would leave most SMs idle); unused on the tensor-core path.
// kWide: three CTAs an SM instead of two (80 registers; the caller gives it a shallower ring), for
// launches of more CTAs than two an SM hold (KernelChoice::fn_wide).
template <WeightFormat F, bool kMma, int NTOK, int MT, int D, int FP, bool kWide = false>
__global__ void __launch_bounds__(kThreads, kWide ? 3 : (kMma && NTOK * MT > 8) ? 1 : 2) linear_kernel(const Args a) {
  constexpr int E = kElems<F>;
  constexpr int CK = kChunkK<F, kMma>;                 // k per chunk and row
  constexpr int P = kMma ? 2 * MT : FP;                // 16-byte pieces per lane and chunk
  constexpr int kTokens = kMma ? NTOK * 8 : NTOK;      // staged tokens (MMA: padded to n-tiles)
  constexpr int kRowsPerTile = kMma ? 16 * MT : 4 * FP;
  constexpr bool kFp8Mma = kMma && F == WeightFormat::FP8;
  static_assert(!kMma || F == WeightFormat::BF16 || F == WeightFormat::FP8, "tensor-core path: bf16/fp8");
  static_assert(!kFp8Mma || D % 2 == 0, "FP8 block ends are found by the parity of the ring slot");
  static_assert(kMma || (MT == 1 && (FP == 4 || FP == 1)), "FMA path: 16- or 4-row tiles");
  using XT = std::conditional_t<kMma, __nv_bfloat16, float>;
  // Shared-memory row pads, chosen so that the B-fragment / x reads of a warp are free of bank conflicts.
  constexpr int kXPad = !kMma ? 4 : F == WeightFormat::FP8 ? 8 : 32;

  extern __shared__ __align__(16) uint8_t smem[];
  cg::cluster_group cluster = cg::this_cluster();
  const int rank = static_cast<int>(cluster.block_rank());
  const int S = a.splits;
  const int tpw = a.tiles_per_warp;
  const int R = kWarps * tpw * kRowsPerTile;
  const int RP = R + 4;  // partial-sum row pad: the lanes of a flush hit distinct banks
  const Part wp = part_of(a, blockIdx.x / S);  // this CTA's matrix and output
  const int row0 = (blockIdx.x / S - wp.row_block0) * R;
  const int kk0 = rank * a.ks;
  const int nck = a.ks / CK;
  const int steps = tpw * nck;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int n0 = blockIdx.y * kTokens;  // the CTA's token group (launch_group's groups along grid y)
  const int m_cta = min(a.m - n0, kTokens);
  const int xs_stride = a.ks + kXPad;
  XT* xs = reinterpret_cast<XT*>(smem);
  float* part = reinterpret_cast<float*>(smem + ((static_cast<size_t>(kTokens) * xs_stride * sizeof(XT) + 15) / 16) * 16);

  // ---- weight loads: step -> (tile, chunk) of this warp ----
  auto tile_row = [&](int tile) { return (tile * kWarps + warp) * kRowsPerTile; };
  // Piece j of a lane: its row in the tile and its 16-byte slot in the row's chunk.
  auto piece_row = [&](int j) { return kMma ? (j / 2) * 16 + g + 8 * (j % 2) : lane / 8 + 4 * j; };
  const int slot = kMma ? t : lane % 8;
  auto load = [&](Frag<P>& f, int tile, int chunk, bool with_scale) {
    const int kk = kk0 + chunk * CK + E * slot;
    const int k = kk - a.shift;
#pragma unroll
    for (int j = 0; j < P; ++j) {
        const int row = row0 + tile_row(tile) + piece_row(j);
        load_piece<F>(wp, a.cols, row, k, f.v[j]);
        if constexpr (F == WeightFormat::FP8) {
          if (with_scale) {
            const int col = kk / kFp8BlockSize;
            float s = 0.0f;
            if (row < wp.rows && col < a.scale_grid_cols) {
              const int srow = (row + wp.scale_row0) / kFp8BlockSize;
              s = __ldg(reinterpret_cast<const float*>(wp.scales + srow * wp.scale_stride) + col);
            }
            f.s[j] = s;  // as loaded: a use here would stall the warp for the load (scale_factor)
          }
        } else if constexpr (F == WeightFormat::MXFP4) {
          uint32_t b = 0u;  // no block: factor 0
          if (row < wp.rows && k < a.cols) b = __ldg(wp.scales + static_cast<size_t>(row) * wp.scale_stride + k / 32) | 0x100u;
          f.s[j] = __uint_as_float(b);  // the byte as loaded, tagged (scale_factor)
        }
    }
  };

  Frag<P> buf[D];
  int ld_tile = 0, ld_chunk = 0;
  auto advance = [&](int& tile, int& chunk) {
    if (++chunk == nck) chunk = 0, ++tile;
  };
  // Start the weight stream before waiting for the kernel before (launch.cuh: weights were written long
  // before), so that the stream's first latency overlaps that kernel and the staging of x.
#pragma unroll
  for (int i = 0; i < D; ++i)
    if (i < steps) {
      load(buf[i], ld_tile, ld_chunk, !kFp8Mma || i % 2 == 1);
      advance(ld_tile, ld_chunk);
    }
  pdl_enter();

  // ---- stage x[n0 .. n0 + kTokens, slice] ----
  // Tensor-core path: a thread loads kStageBatch quads (from the L2: x was just written) before it converts
  // and stores any. One quad at a time paid an L2 round trip a quad, up to ~24 in a row at 9-64 tokens
  // (docs/benchmarks.md, session 22: BF16 at 8-64 rows 1.05-1.5x faster, FP8 1.03-1.18x). At 5-9 n-tiles (33-72 rows: up
  // to 9 batches of 4 a thread) 8 quads: one H200, same bits (session 41), the FP8 rows at 64-72 tokens 1.03-1.04x in
  // the kernel bench, the step 1.007x (Qwen3-30B-A3B) and 1.011x (MiMo slice) at 8 x 9; 8 at 2-4 n-tiles too made the
  // 9-row launches slower (the MiMo slice 1 x 9 0.99x). BF16 there takes 16 (session 42, same bits: its rows at 56-72
  // tokens 1.01-1.06x, the MiMo-V2.5 drafter's 1.04-1.06x); FP8's 72-row launches were not faster with 16 (the step at
  // 8 x 9 0.996-0.997x). The FMA path stages 1-4 rows (at most a quad or two a thread) and keeps one at a time.
  {
    constexpr int kStageBatch = !kMma ? 1 : NTOK < 5 ? 4 : F == WeightFormat::BF16 ? 16 : 8;
    const float xmul = kFp8Mma ? 18446744073709551616.0f : 1.0f;  // 2^64
    const int quads = a.ks / 4, items = kTokens * quads;
    for (int base = threadIdx.x; base < items; base += kThreads * kStageBatch) {
      float v[kStageBatch][4];
#pragma unroll
      for (int u = 0; u < kStageBatch; ++u) {
        const int idx = base + u * kThreads;
        const int n = idx / quads, k = kk0 + (idx % quads) * 4 - a.shift;
        v[u][0] = v[u][1] = v[u][2] = v[u][3] = 0.0f;
        if (idx < items && n < m_cta) {
          const float* xr = a.x + static_cast<size_t>(n0 + n) * a.cols;
          if (a.x_vec4 && k >= 0 && k + 4 <= a.cols) {
            const float4 q = *reinterpret_cast<const float4*>(xr + k);
            v[u][0] = q.x, v[u][1] = q.y, v[u][2] = q.z, v[u][3] = q.w;
          } else {
#pragma unroll
            for (int i = 0; i < 4; ++i)
              if (k + i >= 0 && k + i < a.cols) v[u][i] = xr[k + i];
          }
        }
      }
#pragma unroll
      for (int u = 0; u < kStageBatch; ++u) {
        const int idx = base + u * kThreads;
        if (idx >= items) break;
        const int n = idx / quads, kk = (idx % quads) * 4;
        if constexpr (kMma) {
          uint2 p;
          p.x = pack_bf16x2(v[u][0] * xmul, v[u][1] * xmul);
          p.y = pack_bf16x2(v[u][2] * xmul, v[u][3] * xmul);
          *reinterpret_cast<uint2*>(xs + static_cast<size_t>(n) * xs_stride + kk) = p;
        } else {
          *reinterpret_cast<float4*>(xs + static_cast<size_t>(n) * xs_stride + kk) =
              make_float4(v[u][0], v[u][1], v[u][2], v[u][3]);
        }
      }
    }
  }
  __syncthreads();

  // ---- main loop ----
  constexpr int kAccA = kMma ? MT : P;
  constexpr int kAccB = kMma ? NTOK : NTOK;
  constexpr int kAccC = kMma ? 4 : 1;
  float acc[kAccA][kAccB][kAccC];
  float tmp[kFp8Mma ? MT : 1][kFp8Mma ? NTOK : 1][4];
#pragma unroll
  for (int i = 0; i < kAccA; ++i)
#pragma unroll
    for (int j = 0; j < kAccB; ++j)
#pragma unroll
      for (int c = 0; c < kAccC; ++c) acc[i][j][c] = 0.0f;
  // FP8: each scale block's first MMA writes tmp (compute); these zeros only stand in on the unrolled ring's paths the
  // compiler cannot rule out (an odd slot with no even one before it), so that no register is read unset there.
  if constexpr (kFp8Mma) {
#pragma unroll
    for (int i = 0; i < MT; ++i)
#pragma unroll
      for (int j = 0; j < NTOK; ++j)
#pragma unroll
        for (int c = 0; c < 4; ++c) tmp[i][j][c] = 0.0f;
  }

  // block_start (FP8 tensor-core path): the chunk opens a 128-wide scale block, so its first MMA writes the block's
  // temporary accumulators afresh instead of adding to zeros (the same sums, without 4 zeroing moves an accumulator).
  auto compute = [&](const Frag<P>& f, int chunk, bool block_start) {
    if constexpr (kMma) {
      const __nv_bfloat16* xb_base = xs + static_cast<size_t>(g) * xs_stride + chunk * CK + E * t;
      if constexpr (F == WeightFormat::FP8) {
#pragma unroll
        for (int s2 = 0; s2 < 2; ++s2) {
          uint32_t xb[NTOK][4];
#pragma unroll
          for (int nt = 0; nt < NTOK; ++nt) {
            const uint4 q = *reinterpret_cast<const uint4*>(xb_base + static_cast<size_t>(nt * 8) * xs_stride + 8 * s2);
            xb[nt][0] = q.x, xb[nt][1] = q.y, xb[nt][2] = q.z, xb[nt][3] = q.w;
          }
#pragma unroll
          for (int s = 0; s < 2; ++s) {
            const int kstep = 2 * s2 + s;
#pragma unroll
            for (int mt = 0; mt < MT; ++mt) {
              uint32_t fr[4];
              decode_e4m3x4_bf16_scaled(f.v[2 * mt][kstep], fr[0], fr[2]);
              decode_e4m3x4_bf16_scaled(f.v[2 * mt + 1][kstep], fr[1], fr[3]);
#pragma unroll
              for (int nt = 0; nt < NTOK; ++nt) {
                if (block_start && kstep == 0) mma_bf16_first(tmp[mt][nt], fr, xb[nt][2 * s], xb[nt][2 * s + 1]);
                else mma_bf16(tmp[mt][nt], fr, xb[nt][2 * s], xb[nt][2 * s + 1]);
              }
            }
          }
        }
      } else {  // BF16: the loaded words are the fragments
        uint32_t xb[NTOK][4];
#pragma unroll
        for (int nt = 0; nt < NTOK; ++nt) {
          const uint4 q = *reinterpret_cast<const uint4*>(xb_base + static_cast<size_t>(nt * 8) * xs_stride);
          xb[nt][0] = q.x, xb[nt][1] = q.y, xb[nt][2] = q.z, xb[nt][3] = q.w;
        }
#pragma unroll
        for (int s = 0; s < 2; ++s)
#pragma unroll
          for (int mt = 0; mt < MT; ++mt) {
            const uint32_t fr[4] = {f.v[2 * mt][2 * s], f.v[2 * mt + 1][2 * s], f.v[2 * mt][2 * s + 1],
                                    f.v[2 * mt + 1][2 * s + 1]};
#pragma unroll
            for (int nt = 0; nt < NTOK; ++nt) mma_bf16(acc[mt][nt], fr, xb[nt][2 * s], xb[nt][2 * s + 1]);
          }
      }
    } else {
      // FMA: piece j is row lane / 8 + 4 j, elements [E * slot, E * slot + E) of the chunk; the x values
      // are the same for all four rows of a lane.
      constexpr bool kScaled = F == WeightFormat::FP8 || F == WeightFormat::MXFP4;
      float p[P][NTOK];
#pragma unroll
      for (int j = 0; j < P; ++j)
#pragma unroll
        for (int n = 0; n < NTOK; ++n) p[j][n] = 0.0f;
      const float* xb_base = xs + chunk * CK + E * slot;
#pragma unroll
      for (int q = 0; q < E / 4; ++q) {
        float w[P][4];
#pragma unroll
        for (int j = 0; j < P; ++j) decode4<F>(f.v[j], q, w[j]);
#pragma unroll
        for (int n = 0; n < NTOK; ++n) {
          const float4 xv = *reinterpret_cast<const float4*>(xb_base + static_cast<size_t>(n) * xs_stride + 4 * q);
#pragma unroll
          for (int j = 0; j < P; ++j) {
            float& pj = kScaled ? p[j][n] : acc[j][n][0];
            pj = fmaf(w[j][0], xv.x, pj), pj = fmaf(w[j][1], xv.y, pj), pj = fmaf(w[j][2], xv.z, pj),
            pj = fmaf(w[j][3], xv.w, pj);
          }
        }
      }
      if constexpr (kScaled) {
#pragma unroll
        for (int j = 0; j < P; ++j) {
          const float factor = scale_factor<F, kMma>(f.s[j]);
#pragma unroll
          for (int n = 0; n < NTOK; ++n) acc[j][n][0] = fmaf(p[j][n], factor, acc[j][n][0]);
        }
      }
    }
  };

  auto fold_block = [&](const Frag<P>& f) {  // FP8 tensor-core path: end of a 128-wide scale block
    if constexpr (kFp8Mma) {
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
        const float s0 = scale_factor<F, kMma>(f.s[2 * mt]), s1 = scale_factor<F, kMma>(f.s[2 * mt + 1]);
#pragma unroll
        for (int nt = 0; nt < NTOK; ++nt) {
          acc[mt][nt][0] = fmaf(tmp[mt][nt][0], s0, acc[mt][nt][0]);
          acc[mt][nt][1] = fmaf(tmp[mt][nt][1], s0, acc[mt][nt][1]);
          acc[mt][nt][2] = fmaf(tmp[mt][nt][2], s1, acc[mt][nt][2]);
          acc[mt][nt][3] = fmaf(tmp[mt][nt][3], s1, acc[mt][nt][3]);
        }
      }
    }
  };

  auto flush = [&](int tile) {  // a tile's sums over this CTA's K slice -> part[token][row]
    const int lr0 = tile_row(tile);
    if constexpr (kMma) {
#pragma unroll
      for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int nt = 0; nt < NTOK; ++nt) {
          const int r = lr0 + mt * 16 + g, tok = nt * 8 + 2 * t;
          part[tok * RP + r] = acc[mt][nt][0];
          part[(tok + 1) * RP + r] = acc[mt][nt][1];
          part[tok * RP + r + 8] = acc[mt][nt][2];
          part[(tok + 1) * RP + r + 8] = acc[mt][nt][3];
          acc[mt][nt][0] = acc[mt][nt][1] = acc[mt][nt][2] = acc[mt][nt][3] = 0.0f;
        }
    } else {
#pragma unroll
      for (int j = 0; j < P; ++j)
#pragma unroll
        for (int n = 0; n < NTOK; ++n) {  // the 8 lanes of a row, in a fixed order
          float v = acc[j][n][0];
          v += __shfl_xor_sync(0xffffffffu, v, 1);
          v += __shfl_xor_sync(0xffffffffu, v, 2);
          v += __shfl_xor_sync(0xffffffffu, v, 4);
          if (lane % 8 == 0) part[n * RP + lr0 + piece_row(j)] = v;
          acc[j][n][0] = 0.0f;
        }
    }
  };

  int c_tile = 0, c_chunk = 0;
  for (int s0 = 0; s0 < steps; s0 += D) {
#pragma unroll
    for (int i = 0; i < D; ++i) {
      if (s0 + i < steps) {
        // chunk parity == slot parity (nck and D even): even slots open a scale block, odd ones close it
        compute(buf[i], c_chunk, i % 2 == 0);
        if (i % 2 == 1) fold_block(buf[i]);
        if (c_chunk == nck - 1) flush(c_tile);
        advance(c_tile, c_chunk);
        if (s0 + i + D < steps) {
          load(buf[i], ld_tile, ld_chunk, !kFp8Mma || i % 2 == 1);
          advance(ld_tile, ld_chunk);
        }
      }
    }
  }

  // ---- cluster reduction over the K slices, in rank order; epilogue ----
  cluster.sync();
  // Each thread takes kU outputs at a time and issues every load (all ranks' partials, bias, old y)
  // before the first use: the loop is bound by the latency of distributed shared memory, not by its
  // bandwidth. The sum runs over the ranks in order 0..S-1 whatever the timing.
  constexpr int kU = 4;
  const int total = m_cta * R;
  for (int base = rank * kThreads * kU + threadIdx.x; base < total; base += S * kThreads * kU) {
    int off[kU];
    bool ok[kU];
    float v[kMaxSplits][kU];
#pragma unroll
    for (int u = 0; u < kU; ++u) {
      const int idx = base + u * kThreads, n = idx / R, lr = idx % R;
      ok[u] = idx < total && row0 + lr < wp.rows;
      off[u] = n * RP + lr;
    }
#pragma unroll
    for (int j = 0; j < kMaxSplits; ++j) {
      const float* pj = cluster.map_shared_rank(part, j < S ? j : 0);
#pragma unroll
      for (int u = 0; u < kU; ++u) v[j][u] = (j < S && ok[u]) ? pj[off[u]] : 0.0f;
    }
    float bias[kU], old[kU];
#pragma unroll
    for (int u = 0; u < kU; ++u) {
      const int idx = base + u * kThreads, n = idx / R, r = row0 + idx % R;
      bias[u] = ok[u] && wp.bias ? wp.bias[r] : 0.0f;
      old[u] = ok[u] && a.accumulate ? wp.y[static_cast<size_t>(n0 + n) * wp.rows + r] : 0.0f;
    }
#pragma unroll
    for (int u = 0; u < kU; ++u) {
      if (!ok[u]) continue;
      const int idx = base + u * kThreads, n = idx / R, r = row0 + idx % R;
      float sum = 0.0f;
#pragma unroll
      for (int j = 0; j < kMaxSplits; ++j)
        if (j < S) sum += v[j][u];
      sum += bias[u];
      wp.y[static_cast<size_t>(n0 + n) * wp.rows + r] = a.accumulate ? old[u] + sum : sum;
    }
  }
  cluster.sync();  // peers may still be reading this CTA's partial sums
}

// ---- host side: kernel choice and plan ----

struct KernelChoice {
  const void* fn = nullptr;
  bool mma = false;
  int ntok = 1;  // MMA: n-tiles (8 tokens each); FMA: tokens per CTA
  int mt = 1;
  int pieces = 4;     // 16-byte pieces per lane and chunk
  int tile_rows = 16; // rows of a warp's tile
  int depth = 4;
  int blocks_per_sm = 2;  // from the launch bounds
  int granule = 128;      // K-slice granularity
  // The FMA path (BF16/FP8, one or two tokens a CTA, 16-row tiles) and the tensor-core path at one or two
  // n-tiles (up to 16 tokens): the same kernel at three CTAs an SM with a shallower ring (2 chunks on the
  // FMA path, for 4 or 3; 4 and 2 on the tensor cores, for 8 and 6: FP8 needs an even ring), taken with
  // the plan chosen for fn when a launch has more CTAs than two an SM hold and three fit in shared memory
  // (launch_group). Its arithmetic is fn's. Measured on one H200 (docs/benchmarks.md, session 11),
  // same plans: the LM heads' launches of 600-1200 CTAs 1.04-1.20x faster at one token (MiMo-V2.5-Pro FP8
  // 54% -> 65% of copy bandwidth) and 1.07-1.24x at nine (BF16 57% -> 71%); launches of one wave or less
  // ran up to 1.3x slower with the shallower ring, so they keep fn.
  const void* fn_wide = nullptr;
};

// Chunks in flight per lane: as many as the registers allow under two CTAs per SM (the loaded HBM
// latency is ~2-3 us, so a CTA streams at about its bytes in flight / 2.5 us).
// BF16 at 5-9 n-tiles (one CTA an SM by its launch bounds, so 255 registers a thread) keeps 4 chunks in flight: with
// 2, a CTA's 32 KB in flight held the MiMo-V2.5 drafter's 64-row launches to 16-33% of the copy bandwidth (session 34).
// FP8 there already holds ~250 registers (its per-block accumulators).
template <bool kMma, int NTOK, WeightFormat F>
constexpr int pipeline_depth() {
  if constexpr (kMma) return NTOK == 1 ? 8 : NTOK == 2 ? 6 : NTOK <= 4 ? 4 : F == WeightFormat::BF16 ? 4 : 2;
  else return NTOK == 1 ? 4 : NTOK == 2 ? 3 : 2;  // 4 pieces (64 bytes) per lane and chunk
}

template <WeightFormat F, bool kMma, int NTOK, int FP = 4>
KernelChoice choice() {
  constexpr int MT = kMma && NTOK > 4 ? 2 : 1;
  // Narrow FMA tiles keep the bytes in flight per lane: 4 times the chunks of one piece each.
  constexpr int D = pipeline_depth<kMma, NTOK, F>() * (kMma ? 1 : 4 / FP);
  KernelChoice c;
  c.fn = reinterpret_cast<const void*>(&linear_kernel<F, kMma, NTOK, MT, D, FP>);
  c.mma = kMma;
  c.ntok = NTOK;
  c.mt = MT;
  c.pieces = kMma ? 2 * MT : FP;
  c.tile_rows = kMma ? 16 * MT : 4 * FP;
  c.depth = D;
  c.blocks_per_sm = (kMma && NTOK * MT > 8) ? 1 : 2;
  c.granule = kGranule<F, kMma>;
  // (The narrow 4-row tiles are only taken for launches of a few dozen CTAs: no wide variant.)
  if constexpr (!kMma && NTOK <= 2 && FP == 4 && (F == WeightFormat::BF16 || F == WeightFormat::FP8))
    c.fn_wide = reinterpret_cast<const void*>(&linear_kernel<F, false, NTOK, MT, 2, FP, true>);
  if constexpr (kMma && NTOK <= 2)
    c.fn_wide = reinterpret_cast<const void*>(&linear_kernel<F, true, NTOK, MT, D / 4 * 2, FP, true>);  // even (FP8)
  static bool configured = false;  // once per instantiation (attributes are not stream work)
  if (!configured) {
    for (const void* fn : {c.fn, c.fn_wide})
      if (fn) CUDA_CHECK(cudaFuncSetAttribute(fn, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmemLimit));
    configured = true;
  }
  return c;
}

template <WeightFormat F, bool kMma>
KernelChoice choice_n(int ntok, bool narrow) {
  if constexpr (kMma) {
    switch (ntok) {
      case 1: return choice<F, true, 1>();
      case 2: return choice<F, true, 2>();
      case 3: return choice<F, true, 3>();
      case 4: return choice<F, true, 4>();
      case 5: return choice<F, true, 5>();
      case 6: return choice<F, true, 6>();
      case 7: return choice<F, true, 7>();
      case 8: return choice<F, true, 8>();
      default: return choice<F, true, 9>();
    }
  } else if (narrow) {
    switch (ntok) {
      case 1: return choice<F, false, 1, 1>();
      case 2: return choice<F, false, 2, 1>();
      default: return choice<F, false, 4, 1>();
    }
  } else {
    switch (ntok) {
      case 1: return choice<F, false, 1>();
      case 2: return choice<F, false, 2>();
      default: return choice<F, false, 4>();
    }
  }
}

// Batch invariance (batch_invariant.h) takes the tensor cores at every row count: one arithmetic for a token.
bool uses_mma(WeightFormat f, int m, bool fp32_activations) {
  return (f == WeightFormat::BF16 || f == WeightFormat::FP8) && (m > kLinearFp32MaxM || batch_invariant()) &&
         !fp32_activations;
}

// Routers (FP32 activations) over many experts at a verify block's rows (or 3-9 sequences') take one token a CTA
// (launch groups along grid y). Their CTAs are bound by the per-token FMA work rather than the weight stream
// (docs/benchmarks.md, session 15), and the groups read the same weights, mostly from the L2. One H200, session 19,
// against 4 tokens a CTA (one binary, a switch): MiMo-V2.5-Pro's router [384, 6144] 11.6 -> 9.8 us at 8 rows and
// 11.5 -> 9.9 at 9, the MiMo slice's step 1.035x at 1 x 8 and 1.019x at 8 x 1; but its 2 x 8 step (16 rows) 0.96x,
// 64 rows 2.2x slower (1536 CTAs), and the 128-row routers (Qwen3-235B-A22B, gpt-oss-120b) 1.06-1.16x slower at
// 8-9 rows: hence both bounds.
constexpr int kRouterOneTokenMaxM = 9, kRouterOneTokenMinRows = 256;

// Tokens per launch group / per CTA for a call of m rows of x over a matrix of `rows` rows.
int tokens_per_cta(WeightFormat f, int m, bool fp32_activations, int rows) {
  if (uses_mma(f, m, fp32_activations)) return (std::min(m, kMaxMmaTokens) + 7) / 8;  // n-tiles
  if (batch_invariant()) return 1;  // the FMA path one token a CTA at any m (invariant_plan)
  if ((f == WeightFormat::BF16 || f == WeightFormat::FP8) && m <= kLinearFp32MaxM) return m;  // 1 or 2
  if (fp32_activations && m <= kRouterOneTokenMaxM && rows >= kRouterOneTokenMinRows) return 1;
  int mb = 1;
  while (mb < m && mb < 4) mb *= 2;
  return mb;
}

// narrow: the FMA path's 4-row warp tiles (ignored on the tensor-core path).
KernelChoice kernel_choice(WeightFormat f, int m, bool fp32_activations, bool narrow, int rows) {
  const int ntok = tokens_per_cta(f, m, fp32_activations, rows);
  const bool mma = uses_mma(f, m, fp32_activations);
  switch (f) {
    case WeightFormat::F32: return choice_n<WeightFormat::F32, false>(ntok, narrow);
    case WeightFormat::MXFP4: return choice_n<WeightFormat::MXFP4, false>(ntok, narrow);
    case WeightFormat::BF16:
      return mma ? choice_n<WeightFormat::BF16, true>(ntok, false) : choice_n<WeightFormat::BF16, false>(ntok, narrow);
    case WeightFormat::FP8:
      return mma ? choice_n<WeightFormat::FP8, true>(ntok, false) : choice_n<WeightFormat::FP8, false>(ntok, narrow);
  }
  return {};
}

double bytes_per_element(WeightFormat f) {
  switch (f) {
    case WeightFormat::F32: return 4;
    case WeightFormat::BF16: return 2;
    case WeightFormat::FP8: return 1;
    case WeightFormat::MXFP4: return 0.5 + 1.0 / 32;
  }
  return 1;
}

int shift_of(const DeviceMatrix& w) { return w.format == WeightFormat::FP8 ? w.scale_col0 : 0; }

size_t smem_bytes(const KernelChoice& c, int ks, int tiles_per_warp) {
  const int tokens = c.mma ? c.ntok * 8 : c.ntok;
  const int xpad = !c.mma ? 4 : 32;  // the larger pad, for either format
  const size_t xs = static_cast<size_t>(tokens) * (ks + xpad) * (c.mma ? 2 : 4);
  const size_t rows = static_cast<size_t>(kWarps) * tiles_per_warp * c.tile_rows;
  return (xs + 15) / 16 * 16 + static_cast<size_t>(tokens) * (rows + 4) * 4;
}

// Cost model (microseconds), fitted to a sweep of every plan over the benchmark shapes on an H200
// (2026-11-21; the chosen plan was within 1% of the best measured one on average, 8% at worst):
// - a CTA streams its weight block at (bytes in flight) / latency (Little's law; 3 us for the FMA path,
//   2 us for the tensor-core path), FP8 at most 15k elements/us (decode-bound), plus a fixed ~4 us
//   (staging x, filling the pipeline, the cluster reduction and its barriers);
// - CTAs run in waves of the resident slots (2 per SM; 8-CTA clusters co-schedule only 30 at a time
//   on 132 SMs), and nothing beats the weight bytes over HBM bandwidth (the two joined by a soft maximum);
// - plus re-reading x from L2 once per row block, and reading the partial sums across the cluster.
struct PlanCost {
  LinearPlan plan;
  int ks = 0;
  size_t smem = 0;
  long ctas = 0;  // of the launch
  double us = 1e30;
  LinearPlanTerms terms;  // the model's inputs (linear_plan_terms: fitting it)
};

PlanCost evaluate(const KernelChoice& c, const DeviceMatrix& w, int m_launch, int groups, int splits, int tpw,
                  bool forced) {
  constexpr double kHbmBytesPerUs = 4.0e6, kL2BytesPerUs = 8.0e6, kDsmemBytesPerUs = 1.0e5, kFixedUs = 4.0,
                   kDecodeElemsPerUs = 15.0e3;
  PlanCost pc;
  const int kk_total = w.cols + shift_of(w);
  const int granule = c.granule;
  const int nblk = std::max(1, (kk_total + granule - 1) / granule);
  if (!forced && splits > 1 && splits > nblk) return pc;  // ranks past the end would only add zeros
  pc.ks = (nblk + splits - 1) / splits * granule;
  pc.smem = smem_bytes(c, pc.ks, tpw);
  if (pc.smem > static_cast<size_t>(kSmemLimit)) return pc;
  pc.plan = {splits, tpw, c.tile_rows};
  const double bpe = bytes_per_element(w.format);
  const int rows_per_cta = kWarps * tpw * c.tile_rows;
  const long row_blocks = (w.rows + rows_per_cta - 1) / rows_per_cta;
  const long ctas = row_blocks * splits * groups;
  pc.ctas = ctas;
  const int occupancy = std::max(1, std::min(c.blocks_per_sm, ctas_per_sm_by_smem(pc.smem)));
  long slots = static_cast<long>(device_sm_count()) * occupancy;
  if (splits == 8) slots = std::min<long>(slots, 15L * occupancy * 8);
  const long waves = (ctas + slots - 1) / slots;
  const double in_flight = kWarps * 32.0 * 16 * c.pieces * c.depth;  // bytes per CTA
  const double latency_us = c.mma ? 2.0 : 3.0;
  const double cta_k = std::min(pc.ks, kk_total);
  const double cta_bytes = rows_per_cta * cta_k * bpe, cta_elems = rows_per_cta * cta_k;
  const bool decode_bound = w.format == WeightFormat::FP8 || w.format == WeightFormat::MXFP4;
  const double cta_us = std::max(cta_bytes / (in_flight / latency_us), decode_bound ? cta_elems / kDecodeElemsPerUs : 0.0);
  const double weight_bytes = static_cast<double>(w.rows) * w.cols * bpe * groups;
  const double t_hbm = weight_bytes / kHbmBytesPerUs;
  const int tokens = c.mma ? m_launch : c.ntok;
  const double x_bytes = static_cast<double>(row_blocks) * groups * tokens * kk_total * 4;
  const double t_x = x_bytes / kL2BytesPerUs;
  const double red_bytes = splits > 1 ? static_cast<double>(rows_per_cta) * tokens * 4 : 0.0;
  const double t_red = red_bytes / kDsmemBytesPerUs;
  // The two bounds joined by a soft maximum, (a^4 + b^4)^(1/4): where they are close, neither alone is reached. Found by
  // a refit over a sweep of every plan (docs/benchmarks.md, session 49: one H100, 194 cases of 7-72 rows; the constants
  // kept, only the form changed, the exponent 3.5-4.5 best in each leave-one-model-out fold). One H200 against the
  // larger of the two: the kernel bench's changed rows 0.96-1.37x (gpt-oss-120b's BF16 LM head at 8 rows 64.3 -> 46.8 us,
  // the DFlash drafter's gate_up at 8 rows 85.7 -> 71.1), the drafter's draft at batch 1 1.041x; the target steps within
  // 0.3% (one H100).
  const double t_waves = waves * (cta_us + kFixedUs);
  pc.us = std::pow(std::pow(t_hbm, 4) + std::pow(t_waves, 4), 0.25) + t_x + t_red;
  pc.terms = {pc.plan, ctas, waves, occupancy, c.mma, decode_bound, weight_bytes, cta_bytes, in_flight, cta_elems, x_bytes,
              red_bytes, pc.us};
  return pc;
}

// Whether a caller asked for a plan (any field set): the launchers' own choices (token groups, the row stream,
// the routers' split-x path) are then left out.
bool plan_asked_for(const LinearPlan& p) { return p.splits || p.tiles_per_warp || p.tile_rows; }

// The cheapest plan that matches `want` (its non-zero fields); when nothing matching fits in shared
// memory, the cheapest plan of all.
PlanCost choose_plan(const KernelChoice& c, const DeviceMatrix& w, int m_launch, int groups, const LinearPlan& want) {
  PlanCost best;
  const bool forced = want.splits || want.tiles_per_warp;
  for (int splits = 1; splits <= kMaxSplits; splits *= 2) {
    if (want.splits && splits != want.splits) continue;
    for (int tpw : {1, 2, 3, 4}) {
      if (!want.tiles_per_warp && tpw == 3) continue;  // 3 only on request (the fit covered 1, 2, 4)
      // Tensor-core path: 4 tiles a warp only with the largest split. Swept on an H200 (docs/benchmarks.md,
      // sessions 15 and 16: every plan of every benchmark shape), 4 tiles a warp at 1-4 splits ran 1.3-3x
      // slower than the model expects, whatever the CTA count (the DFlash drafter's gate_up [32768, 4096] at 8
      // rows: (4, 4) 144 us, (2, 2) 81 us, both 256 CTAs); the model chose them for large matrices at 8-16 rows
      // (LM heads, the drafter), 1.3-1.8x off the best plan. Without them the model's choices (an offline replica
      // of this model scoring the sweeps' measured times) sum to 5042 us over the swept rows instead of 5489
      // (best 4739); two rows got slower (gpt-oss-120b's BF16 LM head at
      // 8 rows 60.8 -> 69.3 us, FP8 at 9 48.4 -> 50.9). Same binary, with and without: the drafter's draft at
      // batch 1 1.24x faster (2244 -> 1816 us), batch 2 1.19x; the target steps unchanged.
      if (!want.tiles_per_warp && c.mma && tpw == 4 && splits < kMaxSplits) continue;
      if (want.tiles_per_warp && tpw != want.tiles_per_warp) continue;
      const PlanCost pc = evaluate(c, w, m_launch, groups, splits, tpw, forced);
      if (pc.us < best.us) best = pc;
    }
  }
  if (best.plan.splits == 0 && forced) return choose_plan(c, w, m_launch, groups, {});
  return best;
}

// The kernel and plan for m rows of x over w that match `want`; when no kernel has the tile shape asked
// for, the cheapest of all. The FMA path's narrow (4-row) tiles are taken, unless asked for, only for
// BF16/F32 matrices that the standard tiles would spread over fewer than a quarter of the SMs (a router:
// MiMo's [384, 6144] in 24 CTAs, 11 us, against 96 CTAs, 4.3 us, on an H200). Measured elsewhere the
// cost model overrates them: FP8 decode matrices and matrices of 64+ standard CTAs ran 1.2-2.2x slower.
struct Launch {
  KernelChoice c;
  PlanCost pc;
  int groups = 1;  // launch groups along grid y (FMA path: ntok tokens each)
};
Launch choose_launch(WeightFormat f, int m, bool fp32_activations, const DeviceMatrix& w, const LinearPlan& want) {
  Launch best;
  for (bool narrow : {false, true}) {
    const KernelChoice c = kernel_choice(f, m, fp32_activations, narrow, w.rows);
    if (narrow && c.mma) break;  // the tensor-core path has one tile shape per token count
    if (want.tile_rows && want.tile_rows != c.tile_rows) continue;
    if (narrow && !want.tile_rows &&
        ((f != WeightFormat::BF16 && f != WeightFormat::F32) || (best.pc.plan.splits > 0 && 4 * best.pc.ctas >= device_sm_count())))
      break;
    const int groups = c.mma ? 1 : (m + c.ntok - 1) / c.ntok;
    const PlanCost pc = choose_plan(c, w, m, groups, want);
    if (pc.us < best.pc.us) best = {c, pc, groups};
  }
  if (best.pc.plan.splits == 0 && want.tile_rows) {
    LinearPlan any = want;
    any.tile_rows = 0;
    return choose_launch(f, m, fp32_activations, w, any);
  }
  // Tensor-core path over a matrix of few row blocks: the rows of x in groups of fewer n-tiles along grid y, each
  // group's CTAs streaming the whole matrix (the later groups mostly from the L2), where the cost model prefers
  // that. Only where one group would leave most SMs idle (fewer CTAs than two fifths of them) and no plan is
  // asked for. One H200 (docs/benchmarks.md, session 44), the kernel bench's rows against one group, same call:
  // one-group launches of 16-48 CTAs 1.19-2.53x faster (gpt-oss-120b's q_proj [512, 2880] at 64-72 rows 1.9-2.5x,
  // Qwen3-235B-A22B's q_proj [1024, 4096] 1.4-1.8x); of 64-600 CTAs, where the model also chose groups, mostly
  // slower (0.59-0.96x: Qwen3-235B-A22B's o_proj [4096, 1024], MiMo-V2.5-Pro's q_proj, o_proj and LM head), so
  // those keep one. Each token's arithmetic is the same in any group: at the same K slices, the same bits.
  // Batch invariance pins only the K split (invariant_plan), so its launches take groups as well.
  const bool groups_allowed = !plan_asked_for(want) || (batch_invariant() && !want.tiles_per_warp && !want.tile_rows);
  if (best.c.mma && groups_allowed && best.pc.plan.splits > 0 && 5 * best.pc.ctas < 2L * device_sm_count()) {
    const int tiles = (m + 7) / 8;
    for (int groups = 2; groups <= tiles; ++groups) {
      const int nt = (tiles + groups - 1) / groups;           // n-tiles a group
      if ((tiles + nt - 1) / nt != groups) continue;          // no split into exactly this many groups
      const KernelChoice c = kernel_choice(f, nt * 8, fp32_activations, false, w.rows);
      const PlanCost pc = choose_plan(c, w, std::min(m, nt * 8), groups, want);
      if (pc.us < best.pc.us) best = {c, pc, groups};
    }
  }
  return best;
}

// What a launch's plan sees of its parts: the first matrix with all the parts' rows.
DeviceMatrix planned_matrix(std::span<const LinearPart> parts) {
  DeviceMatrix all = parts[0].w;
  for (size_t i = 1; i < parts.size(); ++i) all.rows += parts[i].w.rows;
  return all;
}

// One launch over the parts (same format, cols and FP8 column offset) for m <= kMaxMmaTokens rows of x. exact_split:
// want's K split must be the launch's (batch invariance: choose_plan would fall back to any split that fits).
void launch_group(const float* x, int m, std::span<const LinearPart> parts, bool accumulate, bool fp32_activations,
                  const LinearPlan& want, bool exact_split, cudaStream_t stream) {
  const DeviceMatrix& w0 = parts[0].w;
  const Launch l = choose_launch(w0.format, m, fp32_activations, planned_matrix(parts), want);
  const KernelChoice& c = l.c;
  const PlanCost& pc = l.pc;
  const int groups = l.groups;
  CUDA_REQUIRE(pc.plan.splits > 0, "linear: no launch plan fits (shared memory)");
  CUDA_REQUIRE(!exact_split || pc.plan.splits == want.splits,
               "linear: batch invariance's K split does not fit a launch of these rows");
  Args a{};
  a.x = x;
  a.m = m;
  a.cols = w0.cols;
  a.shift = shift_of(w0);
  a.scale_grid_cols = w0.format == WeightFormat::FP8 ? (w0.cols + a.shift + kFp8BlockSize - 1) / kFp8BlockSize : 0;
  a.accumulate = accumulate ? 1 : 0;
  a.splits = pc.plan.splits;
  a.ks = pc.ks;
  a.tiles_per_warp = pc.plan.tiles_per_warp;
  a.x_vec4 = reinterpret_cast<uintptr_t>(x) % 16 == 0 && w0.cols % 4 == 0 && a.shift % 4 == 0;
  const double bpe = bytes_per_element(w0.format);
  const size_t piece_shift_bytes = static_cast<size_t>(a.shift * (w0.format == WeightFormat::FP8 ? 1 : bpe));
  const int rows_per_cta = kWarps * a.tiles_per_warp * c.tile_rows;
  int row_blocks = 0;
  a.parts = static_cast<int>(parts.size());
  for (size_t i = 0; i < parts.size(); ++i) {
    const DeviceMatrix& w = parts[i].w;
    Part& p = a.part[i];
    p.w = w.data;
    p.w_stride = w.data_row_stride;
    p.rows = w.rows;
    p.scales = w.scales;
    p.scale_stride = w.scale_row_stride;
    p.scale_row0 = w.format == WeightFormat::FP8 ? w.scale_row0 : 0;
    p.y = parts[i].y;
    p.bias = parts[i].bias;
    p.aligned = reinterpret_cast<uintptr_t>(w.data) % 16 == 0 && w.data_row_stride % 16 == 0 && piece_shift_bytes % 16 == 0;
    p.row_block0 = row_blocks;
    row_blocks += (w.rows + rows_per_cta - 1) / rows_per_cta;
  }
  const LaunchShape shape{dim3(static_cast<unsigned>(row_blocks * a.splits), static_cast<unsigned>(groups)), dim3(kThreads),
                          pc.smem, static_cast<unsigned>(a.splits)};
  const long ctas = static_cast<long>(row_blocks) * a.splits * groups;
  const void* fn = c.fn_wide && ctas_per_sm_by_smem(pc.smem) >= 3 && ctas > 2L * device_sm_count() ? c.fn_wide : c.fn;
  void* params[] = {&a};
  launch_untyped(fn, shape, stream, params);
  CUDA_CHECK_LAUNCH();
}

void check_matrix(const DeviceMatrix& w) {
  CUDA_REQUIRE(w.rows >= 0 && w.cols >= 0, "linear: negative size");
  CUDA_REQUIRE(w.format != WeightFormat::MXFP4 || w.cols % 32 == 0, "linear: mxfp4 needs cols % 32 == 0");
  CUDA_REQUIRE(w.format != WeightFormat::FP8 || (w.scale_row0 >= 0 && w.scale_row0 < kFp8BlockSize && w.scale_col0 >= 0 &&
                                                 w.scale_col0 < kFp8BlockSize),
               "linear: fp8 scale offsets must lie inside a 128-block");
}

// The most rows of x one tensor-core launch over `all` takes, up to `limit` (a multiple of 8 where below 72).
int most_rows_a_launch(WeightFormat f, const DeviceMatrix& all, int limit, const LinearPlan& plan) {
  auto fits = [&](int n) { return choose_launch(f, n, false, all, plan).pc.plan.splits > 0; };
  int most = std::min(kMaxMmaTokens, (limit + 7) / 8 * 8);
  while (most > 8 && !fits(most)) most -= 8;
  return most;
}

// Batch invariance (batch_invariant.h): the plan every call over these matrices takes, whatever its rows, and the
// rows a launch then takes. The tensor-core path keeps the K split its largest launch would choose (a token's sums
// depend on the split, not on its n-tile or the launch's other tokens); the FMA path, one token a CTA, the whole plan
// of a one-row launch.
struct InvariantPlan {
  LinearPlan plan;
  int rows_a_launch = 0;
};
InvariantPlan invariant_plan(WeightFormat f, bool fp32_activations, const DeviceMatrix& all) {
  if (uses_mma(f, 1, fp32_activations)) {
    const int most = most_rows_a_launch(f, all, kMaxMmaTokens, {});
    return {{choose_launch(f, most, false, all, {}).pc.plan.splits, 0, 0, 0}, most};
  }
  // One token a CTA along grid y: at most 65535 rows a launch.
  return {choose_launch(f, 1, fp32_activations, all, {}).pc.plan, 65535};
}

// All m rows for parts that share a launch: the tensor-core path covers 72 tokens per launch; the rows
// of x are independent. A long K (the DFlash drafter's fc over 5 x 4096 taps, a 16k-wide down
// projection) can leave no plan whose x slice of 72 tokens fits in shared memory: then fewer tokens per
// launch, the most that fit in steps of an n-tile (halving from 72 would make the drafter's down at 64 rows
// four launches of 16 instead of two of 32). The launches take equal shares (within one row), so that none is
// small enough (<= kLinearFp32MaxM rows) to leave the tensor cores: every row of a call gets the same precision.
// Under batch invariance, the launches of invariant_plan, each checked to keep its K split.
void linear_rows(const float* x, int m, std::span<const LinearPart> parts, bool accumulate, bool fp32_activations,
                 const LinearPlan& asked, cudaStream_t stream) {
  const DeviceMatrix& w0 = parts[0].w;
  LinearPlan plan = asked;
  int chunks = 1;
  const bool invariant = batch_invariant() && !plan_asked_for(asked);
  if (invariant) {
    const InvariantPlan inv = invariant_plan(w0.format, fp32_activations, planned_matrix(parts));
    plan = inv.plan;
    chunks = (m + inv.rows_a_launch - 1) / inv.rows_a_launch;
  } else if (uses_mma(w0.format, m, fp32_activations)) {
    const int most = most_rows_a_launch(w0.format, planned_matrix(parts), m, plan);
    chunks = (m + most - 1) / most;
  }
  LinearPart shifted[kMaxLinearParts];
  for (int i = 0, n0 = 0; i < chunks; ++i) {
    const int mg = m / chunks + (i < m % chunks ? 1 : 0);
    for (size_t j = 0; j < parts.size(); ++j) {
      shifted[j] = parts[j];
      shifted[j].y = parts[j].y + static_cast<size_t>(n0) * parts[j].w.rows;
    }
    launch_group(x + static_cast<size_t>(n0) * w0.cols, mg, std::span<const LinearPart>(shifted, parts.size()), accumulate,
                 fp32_activations, plan, invariant, stream);
    n0 += mg;
  }
}

bool share_a_launch(const DeviceMatrix& a, const DeviceMatrix& b) {
  return a.format == b.format && a.cols == b.cols && shift_of(a) == shift_of(b);
}

}  // namespace

LinearPlan linear_plan(int m, const DeviceMatrix& w) { return linear_plan_terms(m, w, {}).plan; }

LinearPlanTerms linear_plan_terms(int m, const DeviceMatrix& w, const LinearPlan& want) {
  const Launch l = choose_launch(w.format, std::min(m, kMaxMmaTokens), false, w, want);
  LinearPlanTerms t = l.pc.terms;
  t.plan.token_groups = l.groups;
  return t;
}

void linear(const float* x, int m, const DeviceMatrix& w, float* y, const LinearEpilogue& epilogue,
            const LinearPlan& plan, cudaStream_t stream) {
  check_matrix(w);
  CUDA_REQUIRE(m >= 0, "linear: negative size");
  if (m == 0 || w.rows == 0) return;
  // FP32 activations over BF16 weights (the routers): the exact tensor-core path where it applies and no plan
  // of this kernel was asked for (linear_split_x.h).
  const bool planned = plan_asked_for(plan);
  // Batch invariance takes it at every row count (a token's sums are the same in any launch of it), in launches of at
  // most kSplitXMaxRows rows.
  if (epilogue.fp32_activations && !planned &&
      (linear_split_x_applies(x, m, w) || (batch_invariant() && linear_split_x_takes(x, w)))) {
    for (int n0 = 0; n0 < m; n0 += kSplitXMaxRows)
      linear_split_x(x + static_cast<size_t>(n0) * w.cols, std::min(kSplitXMaxRows, m - n0), w,
                     y + static_cast<size_t>(n0) * w.rows, epilogue.bias, epilogue.accumulate, stream);
    return;
  }
  const LinearPart part{w, y, epilogue.bias};
  // One or two rows (no plan asked for): the persistent row stream where it applies (linear_stream.h).
  if (!planned && linear_stream_chosen(x, m, std::span<const LinearPart>(&part, 1))) {
    linear_stream(x, m, std::span<const LinearPart>(&part, 1), epilogue.accumulate, stream);
    return;
  }
  linear_rows(x, m, std::span<const LinearPart>(&part, 1), epilogue.accumulate, epilogue.fp32_activations, plan, stream);
}

void linear(const float* x, int m, const DeviceMatrix& w, float* y, const LinearEpilogue& epilogue, cudaStream_t stream) {
  linear(x, m, w, y, epilogue, LinearPlan{}, stream);
}

void linear_grouped(const float* x, int m, std::span<const LinearPart> parts, const LinearPlan& plan, cudaStream_t stream) {
  CUDA_REQUIRE(m >= 0, "linear: negative size");
  CUDA_REQUIRE(parts.size() <= static_cast<size_t>(kMaxLinearParts), "linear_grouped: too many parts");
  // Consecutive parts that can share a launch do; an empty matrix is skipped.
  LinearPart run[kMaxLinearParts];
  size_t n = 0;
  const bool planned = plan_asked_for(plan);
  auto flush = [&] {
    const std::span<const LinearPart> parts(run, n);
    if (n > 0 && m > 0) {
      if (!planned && linear_stream_chosen(x, m, parts)) linear_stream(x, m, parts, false, stream);
      else linear_rows(x, m, parts, false, false, plan, stream);
    }
    n = 0;
  };
  for (const LinearPart& p : parts) {
    check_matrix(p.w);
    if (p.w.rows == 0) continue;
    if (n > 0 && !share_a_launch(run[0].w, p.w)) flush();
    run[n++] = p;
  }
  flush();
}

}  // namespace tachyon::cuda
