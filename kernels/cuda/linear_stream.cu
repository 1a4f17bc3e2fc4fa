// The persistent row-streaming linear for one or two rows of x (linear_stream.h says what and why).
#include "kernels/cuda/linear_stream.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "kernels/cuda/batch_invariant.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/dequant.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/ldg_stream.cuh"
#include "model/fp8.h"

namespace tachyon::cuda {

namespace {

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr int kRows = 4;          // rows a warp streams at once (one x load serves all of them)
constexpr int kBatchGroups = 32;  // row groups between two reductions across the K slices
constexpr int kPartFloats = kBatchGroups * kWarps * kRows;  // a batch's partial sums, per token
// A launch's shape: steps in flight a lane (a step: 4 pieces of 16 bytes) and CTAs an SM. Short launches take a deep ring
// (their whole share asked for before the PDL wait), long ones more warps with a shallow ring (choose_shape says which).
struct StreamShape {
  int depth, ctas_per_sm;
};
constexpr StreamShape kDeepRing{4, 2}, kManyWarps{2, 3};
// Shared memory a CTA may take so that two fit on an SM (228 KB, 1 KB reserved each), and so that three do.
constexpr size_t kMaxSmem = 100 * 1024;
constexpr size_t kMaxSmemThree = 75 * 1024;
std::atomic<bool> g_enabled{true};

template <WeightFormat F>
constexpr int kElems = F == WeightFormat::BF16 ? 8 : 16;  // elements of a 16-byte piece
template <WeightFormat F>
constexpr int kQuads = kElems<F> / 4;

// One matrix of a launch (a layer's q, k and v share one: their rows follow one another).
struct StreamPart {
  const uint8_t* w;
  size_t w_stride;
  const float* scales;  // FP8: the block grid, scale_stride floats a row of blocks
  size_t scale_stride;
  int scale_row0;
  int rows, row0;  // row0: the part's first row among the launch's rows
  float* y;
  const float* bias;
};

struct StreamArgs {
  const float* x;
  int m, cols;
  int rows;    // all parts' rows
  int parts;
  StreamPart part[kMaxLinearParts];
  int accumulate;
  int wk;      // K slices a row group (warps sharing its rows): 1, 2, 4 or 8
  int pieces;  // 16-byte pieces of a row
  int slice;   // pieces of a K slice (the last one may be shorter)
  int sp;      // steps of a slice: ceil(slice / 32)
  bool rows_share_scale;  // FP8: every part's scale_row0 is a multiple of 4, so a warp's 4 rows share a scale block
  StreamShape shape;
};

// The part that launch row `row` belongs to, chosen with constant indices (a kernel parameter indexed at run
// time would be copied to local memory).
__device__ __forceinline__ StreamPart part_at(const StreamArgs& a, int row) {
  StreamPart p = a.part[0];
#pragma unroll
  for (int i = 1; i < kMaxLinearParts; ++i)
    if (i < a.parts && row >= a.part[i].row0) p = a.part[i];
  return p;
}

template <WeightFormat F>
struct Slot {
  uint32_t v[kRows][4];
  float s[kRows];  // FP8 block scales: a row's (per-step loads), or s[0] for all 4 rows (the cursor)
};

// x is staged as [token][quad q of a piece][piece][4 floats], so that the lanes of a warp, which hold
// consecutive pieces, read consecutive 16 bytes (no bank conflicts) for each quad.
template <WeightFormat F, int NTOK, bool kCursor, int kDepth, int kCtasPerSm>
__global__ void __launch_bounds__(kThreads, kCtasPerSm) linear_stream_kernel(const StreamArgs a) {
  constexpr int E = kElems<F>, Q = kQuads<F>;
  extern __shared__ __align__(16) float smem[];
  float* part = smem;                 // [NTOK][kPartFloats]
  float* xs = smem + NTOK * kPartFloats;  // [NTOK][Q][pieces][4]
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int wk = a.wk, wr_count = kWarps / wk;
  const int wr = warp / wk, wkk = warp % wk;
  const int group_rows = wr_count * kRows;
  // The CTA's run of whole row groups (groups start at launch row 0, so only the launch's last one is short).
  const int all_groups = (a.rows + group_rows - 1) / group_rows;
  const int g0 = static_cast<int>(static_cast<int64_t>(all_groups) * blockIdx.x / gridDim.x);
  const int groups = static_cast<int>(static_cast<int64_t>(all_groups) * (blockIdx.x + 1) / gridDim.x) - g0;
  const int r0 = g0 * group_rows;
  const int steps = groups * a.sp;
  const int slice_end = min(a.pieces - wkk * a.slice, a.slice);  // this warp's pieces of a row

  // Step `st` of row group g into a ring slot. Per step (!kCursor): the warp's rows and part found afresh.
  auto load_per_step = [&](Slot<F>& sl, int g, int st) {
    const int in_slice = st * 32 + lane;
    const int piece = wkk * a.slice + in_slice;
    const int row = r0 + g * group_rows + wr * kRows;  // the warp's first row (its 4 lie in one part)
    const StreamPart p = part_at(a, row);
    const int local = row - p.row0;
#pragma unroll
    for (int j = 0; j < kRows; ++j) {
      sl.v[j][0] = sl.v[j][1] = sl.v[j][2] = sl.v[j][3] = 0u;
      sl.s[j] = 0.0f;
      if (row < a.rows && local + j < p.rows && in_slice < slice_end) {
        ldg_stream16(p.w + static_cast<size_t>(local + j) * p.w_stride + static_cast<size_t>(piece) * 16, sl.v[j]);
        if constexpr (F == WeightFormat::FP8)
          sl.s[j] = __ldg(p.scales + static_cast<size_t>((local + j + p.scale_row0) / kFp8BlockSize) * p.scale_stride +
                          piece * E / kFp8BlockSize);
      }
    }
  };
  // With a cursor (kCursor): where the warp's 4 rows of load group `cur_g` start, found once a group (part_at and the
  // row arithmetic), so that a step's loads cost an add a row. FP8: the 4 rows lie in one 128-row scale block (the host
  // takes this path only where every part's scale_row0 is a multiple of 4), so a step loads one scale, not four.
  int cur_g = -1, cur_rows = 0;
  const uint8_t* cur_w = nullptr;  // row 0 of the 4, at the lane's first piece
  const float* cur_s = nullptr;    // FP8: the rows' scale block at the lane's first piece
  size_t cur_stride = 0;
  auto seek = [&](int g) {
    cur_g = g;
    const int row = r0 + g * group_rows + wr * kRows;  // the warp's first row (its 4 lie in one part)
    cur_rows = 0;
    if (row >= a.rows) return;
    const StreamPart p = part_at(a, row);
    const int local = row - p.row0;
    const int piece0 = wkk * a.slice + lane;
    cur_rows = min(kRows, p.rows - local);
    cur_stride = p.w_stride;
    cur_w = p.w + static_cast<size_t>(local) * p.w_stride + static_cast<size_t>(piece0) * 16;
    if constexpr (F == WeightFormat::FP8) {
      cur_s = p.scales + static_cast<size_t>((local + p.scale_row0) / kFp8BlockSize) * p.scale_stride +
              piece0 * E / kFp8BlockSize;
    }
  };
  auto load = [&](Slot<F>& sl, int g, int st) {
    if constexpr (!kCursor) {
      load_per_step(sl, g, st);
      return;
    }
    if (g != cur_g) seek(g);
    const bool ok = st * 32 + lane < slice_end;
    const uint8_t* w = cur_w + static_cast<size_t>(st) * 32 * 16;
#pragma unroll
    for (int j = 0; j < kRows; ++j) {
      sl.v[j][0] = sl.v[j][1] = sl.v[j][2] = sl.v[j][3] = 0u;
      if (ok && j < cur_rows) ldg_stream16(w + static_cast<size_t>(j) * cur_stride, sl.v[j]);
    }
    if constexpr (F == WeightFormat::FP8) {
      // A step is 32 pieces of 16 elements further along the row: 4 scale blocks (E * 32 / 128). The scale is kept as
      // loaded (a use here would stall the warp for the load).
      sl.s[0] = ok && cur_rows > 0 ? __ldg(cur_s + st * 4) : 0.0f;
    }
  };
  auto advance = [&](int& g, int& st) {
    if (++st == a.sp) st = 0, ++g;
  };

  // The first steps' weights before the wait (launch.cuh: weights were written long before).
  Slot<F> buf[kDepth];
  int lg = 0, ls = 0;
#pragma unroll
  for (int i = 0; i < kDepth; ++i) {
    if (i < steps) load(buf[i], lg, ls);
    advance(lg, ls);
  }
  pdl_enter();

  {  // stage x
    const int quads = a.cols / 4;
    for (int i = threadIdx.x; i < NTOK * quads; i += kThreads) {
      const int n = i / quads, c = (i % quads) * 4;
      float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
      if (n < a.m) v = *reinterpret_cast<const float4*>(a.x + static_cast<size_t>(n) * a.cols + c);
      const int piece = c / E, q = (c % E) / 4;
      *reinterpret_cast<float4*>(xs + ((static_cast<size_t>(n) * Q + q) * a.pieces + piece) * 4) = v;
    }
  }
  __syncthreads();

  float acc[kRows][NTOK];
#pragma unroll
  for (int j = 0; j < kRows; ++j)
#pragma unroll
    for (int n = 0; n < NTOK; ++n) acc[j][n] = 0.0f;

  auto compute = [&](const Slot<F>& sl, int st) {
    const int in_slice = st * 32 + lane;
    if (in_slice >= slice_end) return;
    const int piece = wkk * a.slice + in_slice;
    float p[kRows][NTOK];
#pragma unroll
    for (int j = 0; j < kRows; ++j)
#pragma unroll
      for (int n = 0; n < NTOK; ++n) p[j][n] = 0.0f;
#pragma unroll
    for (int q = 0; q < Q; ++q) {
      float4 xv[NTOK];
#pragma unroll
      for (int n = 0; n < NTOK; ++n)
        xv[n] = *reinterpret_cast<const float4*>(xs + ((static_cast<size_t>(n) * Q + q) * a.pieces + piece) * 4);
#pragma unroll
      for (int j = 0; j < kRows; ++j) {
        float w[4];
        if constexpr (F == WeightFormat::BF16) {
          const float2 lo = decode_bf16x2(sl.v[j][2 * q]), hi = decode_bf16x2(sl.v[j][2 * q + 1]);
          w[0] = lo.x, w[1] = lo.y, w[2] = hi.x, w[3] = hi.y;
        } else {
          const float4 d = decode_e4m3x4(sl.v[j][q]);
          w[0] = d.x, w[1] = d.y, w[2] = d.z, w[3] = d.w;
        }
#pragma unroll
        for (int n = 0; n < NTOK; ++n) {
          float& pj = F == WeightFormat::FP8 ? p[j][n] : acc[j][n];
          pj = fmaf(w[0], xv[n].x, pj), pj = fmaf(w[1], xv[n].y, pj), pj = fmaf(w[2], xv[n].z, pj),
          pj = fmaf(w[3], xv[n].w, pj);
        }
      }
    }
    if constexpr (F == WeightFormat::FP8) {
#pragma unroll
      for (int j = 0; j < kRows; ++j)
#pragma unroll
        for (int n = 0; n < NTOK; ++n)
          acc[j][n] = fmaf(p[j][n], kCursor ? sl.s[0] : sl.s[j], acc[j][n]);
    }
  };

  // End of row group g: the lanes' sums (a fixed butterfly) into the batch's partials; at the end of a batch the
  // K slices' partials are added in warp order and written.
  auto end_group = [&](int g) {
    const int batch_g0 = g / kBatchGroups * kBatchGroups;
#pragma unroll
    for (int j = 0; j < kRows; ++j)
#pragma unroll
      for (int n = 0; n < NTOK; ++n) {
        float v = acc[j][n];
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
        if (lane == 0) part[n * kPartFloats + (((g - batch_g0) * group_rows + wr * kRows + j) * wk + wkk)] = v;
        acc[j][n] = 0.0f;
      }
    if (g % kBatchGroups != kBatchGroups - 1 && g != groups - 1) return;
    __syncthreads();
    const int rb0 = r0 + batch_g0 * group_rows;
    const int nrows = min(a.rows, r0 + (g + 1) * group_rows) - rb0;
    for (int i = threadIdx.x; i < NTOK * nrows; i += kThreads) {
      const int n = i / nrows, lr = i % nrows, row = rb0 + lr;
      if (n >= a.m) continue;
      float sum = 0.0f;
      for (int k = 0; k < wk; ++k) sum += part[n * kPartFloats + lr * wk + k];
      const StreamPart p = part_at(a, row);
      const int local = row - p.row0;
      if (p.bias) sum += p.bias[local];
      float* out = p.y + static_cast<size_t>(n) * p.rows + local;
      *out = a.accumulate ? *out + sum : sum;
    }
    __syncthreads();
  };

  int cg = 0, cs = 0;
  for (int s0 = 0; s0 < steps; s0 += kDepth) {
#pragma unroll
    for (int i = 0; i < kDepth; ++i) {
      if (s0 + i < steps) {
        compute(buf[i], cs);
        if (cs == a.sp - 1) end_group(cg);
        advance(cg, cs);
        if (s0 + i + kDepth < steps) {
          load(buf[i], lg, ls);
          advance(lg, ls);
        }
      }
    }
  }
}

size_t smem_bytes(int m, int cols) {
  return (static_cast<size_t>(m) * kPartFloats + static_cast<size_t>(m) * cols) * sizeof(float);
}

// Rows of a row group (a CTA's warps over their K slices) and the launch's row groups, at wk K slices a row group.
constexpr int group_rows_for(int wk) { return kWarps / wk * kRows; }
int64_t row_groups(int rows, int wk) { return (rows + group_rows_for(wk) - 1) / group_rows_for(wk); }

int ctas_for(int rows, int wk, int cps) {
  return static_cast<int>(std::min<int64_t>(static_cast<int64_t>(device_sm_count()) * cps, row_groups(rows, wk)));
}

// Pieces of a row's K slice at wk slices (the last slice may be shorter), and its steps of 32 pieces.
int slice_pieces(int pieces, int wk) { return (pieces + wk - 1) / wk; }
int slice_steps(int pieces, int wk) { return (slice_pieces(pieces, wk) + 31) / 32; }

// Row groups of the busiest CTA (the kernel hands each CTA a contiguous run of whole groups).
int64_t groups_per_cta(int rows, int wk, int cps) {
  const int64_t ctas = ctas_for(rows, wk, cps);
  return (row_groups(rows, wk) + ctas - 1) / ctas;
}

// K slices a row group: the least rows on the busiest CTA ((most groups a CTA) x (rows a group)) over 1, 2, 4 and 8
// slices of at least kMinSlicePieces; ties to fewer slices. One H200, every slice count forced against this rule over
// the bench's 18 matrices at one and two rows (docs/benchmarks.md, session 29): shorter slices made the FP8 LM heads
// 1.25x slower (their decoding, and more shuffles a row), fewer slices left CTAs idle or unbalanced (MiMo-V2.5-Pro's
// BF16 q_proj 1.6x slower in one slice than in 8); the rule was within 10% of the best count everywhere.
constexpr int kMinSlicePieces = 64;

int choose_wk(int rows, int pieces, int cps) {
  int best = 1;
  int64_t best_cost = INT64_MAX;
  for (int wk = 1; wk <= kWarps; wk *= 2) {
    if (wk > 1 && pieces / wk < kMinSlicePieces) break;
    const int64_t cost = groups_per_cta(rows, wk, cps) * group_rows_for(wk);
    if (cost < best_cost) best = wk, best_cost = cost;
  }
  return best;
}

// Whether a launch's loads take the cursor: where a CTA streams more steps than its ring holds before the PDL wait
// (the loads after the wait are then the stream's steady state), and, for FP8, a warp's 4 rows share a scale block.
// The loads are the same either way (the same bits). One H100 (docs/benchmarks.md, session 49), both in one binary:
// the FP8 LM heads 1.03-1.12x and MiMo-V2.5-Pro's FP8 q_proj 1.07-1.13x at one and two rows; but at launches whose
// whole share is loaded before the wait (the small projections, the routers) the cursor ran 0.96-0.97x, hence the rule.
// One H200 with the rule, against the session's starting code: the FP8 LM heads 1.06-1.23x.
bool takes_cursor(const StreamArgs& a) {
  return groups_per_cta(a.rows, a.wk, a.shape.ctas_per_sm) * a.sp > a.shape.depth && a.rows_share_scale;
}

template <WeightFormat F, int NTOK, bool kCursor, int D, int C>
void launch_stream(const StreamArgs& a, size_t smem, cudaStream_t stream) {
  static bool configured = false;  // once per instantiation
  if (!configured) {
    CUDA_CHECK(cudaFuncSetAttribute(linear_stream_kernel<F, NTOK, kCursor, D, C>,
                                    cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(kMaxSmem)));
    configured = true;
  }
  launch(linear_stream_kernel<F, NTOK, kCursor, D, C>, {dim3(ctas_for(a.rows, a.wk, C)), dim3(kThreads), smem}, stream, a);
  CUDA_CHECK_LAUNCH();
}

template <WeightFormat F, int NTOK, bool kCursor>
void launch_stream(const StreamArgs& a, size_t smem, cudaStream_t stream) {
  constexpr StreamShape m = kManyWarps, d = kDeepRing;
  if (a.shape.depth == m.depth) launch_stream<F, NTOK, kCursor, m.depth, m.ctas_per_sm>(a, smem, stream);
  else launch_stream<F, NTOK, kCursor, d.depth, d.ctas_per_sm>(a, smem, stream);
}

template <WeightFormat F, int NTOK>
void launch_stream(const StreamArgs& a, size_t smem, cudaStream_t stream) {
  if (takes_cursor(a)) launch_stream<F, NTOK, true>(a, smem, stream);
  else launch_stream<F, NTOK, false>(a, smem, stream);
}

// The shape of a launch of `rows` rows at m rows of x: many warps (3 CTAs an SM, 24 warps, each lane 2 steps ahead) where
// the launch's row groups at 3 CTAs an SM fill every SM and, at two rows of FP8, a CTA streams more than twice the deep
// ring's steps; the deep ring (2 CTAs an SM, 16 warps, 4 steps ahead) elsewhere, and wherever x does not fit three CTAs
// an SM. Why: the row stream waits on its loads' latency with the decode and FMAs of a step between a load's arrival
// and its slot's refill; more warps overlap more of those steps at about the same bytes in flight an SM (96 KB against
// 128 KB). Launches of few row groups (a CTA's whole share asked for before the PDL wait) keep the deep ring.
// One H200 (docs/benchmarks.md, session 50), every launch forced to each of 4x2, 3x3, 2x3 and 2x4 (depth x CTAs an SM):
// 2x3 was the fastest on the LM heads (FP8 at one row 1.08-1.14x, BF16 1.06-1.07x); 3x3 and 2x4 spilled at two rows,
// and 2x3 lost on the few-row matrices (gpt-oss-120b's q_proj 0.74-0.85x) and on FP8 at two rows outside the LM heads.
// With this rule, against the deep ring everywhere, one binary: the LM heads 1.06-1.14x (FP8 at one row 80-83% of the
// copy bandwidth, BF16 92-95%), the q/o projections 0.98-1.16x; the 1 x 1 steps 0.997-1.02x, 2 x 1 0.993-1.015x.
StreamShape choose_shape(WeightFormat f, int m, int rows, int cols, int pieces) {
  if (smem_bytes(m, cols) > kMaxSmemThree) return kDeepRing;
  const int wk = choose_wk(rows, pieces, kManyWarps.ctas_per_sm);
  if (row_groups(rows, wk) < device_sm_count()) return kDeepRing;
  const int64_t cta_steps = groups_per_cta(rows, wk, kManyWarps.ctas_per_sm) * slice_steps(pieces, wk);
  if (m == 2 && f == WeightFormat::FP8 && cta_steps <= 2 * kDeepRing.depth) return kDeepRing;
  return kManyWarps;
}

}  // namespace

void set_linear_stream(bool enabled) { g_enabled.store(enabled, std::memory_order_relaxed); }
bool linear_stream_enabled() { return g_enabled.load(std::memory_order_relaxed); }

bool linear_stream_applies(const float* x, int m, std::span<const LinearPart> parts) {
  if (m < 1 || m > 2 || parts.empty() || parts.size() > static_cast<size_t>(kMaxLinearParts)) return false;
  if (reinterpret_cast<uintptr_t>(x) % 16 != 0) return false;
  const DeviceMatrix& w0 = parts[0].w;
  if (w0.format != WeightFormat::BF16 && w0.format != WeightFormat::FP8) return false;
  if (w0.cols % 16 != 0 || smem_bytes(m, w0.cols) > kMaxSmem) return false;
  for (const LinearPart& p : parts) {
    const DeviceMatrix& w = p.w;
    if (w.format != w0.format || w.cols != w0.cols || w.rows <= 0) return false;
    // Several parts: each a whole number of a warp's 4 rows, so that a warp's rows lie in one part.
    if (parts.size() > 1 && w.rows % kRows != 0) return false;
    if (reinterpret_cast<uintptr_t>(w.data) % 16 != 0 || w.data_row_stride % 16 != 0) return false;
    if (w.format == WeightFormat::FP8 &&
        (w.scale_col0 != 0 || w.scales == nullptr || w.scale_row_stride % sizeof(float) != 0))
      return false;
  }
  return true;
}

bool linear_stream_chosen(const float* x, int m, std::span<const LinearPart> parts) {
  // Batch invariance (batch_invariant.h): one or two rows take the tensor cores like any other count.
  return linear_stream_enabled() && !batch_invariant() && linear_stream_applies(x, m, parts);
}

namespace {

// The launch's arguments (linear_stream_applies must hold).
StreamArgs stream_args(const float* x, int m, std::span<const LinearPart> parts, bool accumulate) {
  const DeviceMatrix& w0 = parts[0].w;
  StreamArgs a{};
  a.x = x;
  a.m = m;
  a.cols = w0.cols;
  a.parts = static_cast<int>(parts.size());
  for (size_t i = 0; i < parts.size(); ++i) {
    const DeviceMatrix& w = parts[i].w;
    StreamPart& p = a.part[i];
    p.w = w.data;
    p.w_stride = w.data_row_stride;
    p.scales = reinterpret_cast<const float*>(w.scales);
    p.scale_stride = w.scale_row_stride / sizeof(float);
    p.scale_row0 = w.scale_row0;
    p.rows = w.rows;
    p.row0 = a.rows;
    p.y = parts[i].y;
    p.bias = parts[i].bias;
    a.rows += w.rows;
  }
  a.accumulate = accumulate ? 1 : 0;
  a.rows_share_scale = true;
  for (const LinearPart& part : parts) a.rows_share_scale = a.rows_share_scale && part.w.scale_row0 % kRows == 0;
  a.pieces = w0.cols / (w0.format == WeightFormat::BF16 ? kElems<WeightFormat::BF16> : kElems<WeightFormat::FP8>);
  a.shape = choose_shape(w0.format, m, a.rows, a.cols, a.pieces);
  a.wk = choose_wk(a.rows, a.pieces, a.shape.ctas_per_sm);
  a.slice = slice_pieces(a.pieces, a.wk);
  a.sp = slice_steps(a.pieces, a.wk);
  return a;
}

}  // namespace

bool linear_stream_loads_by_cursor(const float* x, int m, std::span<const LinearPart> parts) {
  return linear_stream_applies(x, m, parts) && takes_cursor(stream_args(x, m, parts, false));
}

int linear_stream_ctas_per_sm(const float* x, int m, std::span<const LinearPart> parts) {
  return linear_stream_applies(x, m, parts) ? stream_args(x, m, parts, false).shape.ctas_per_sm : 0;
}

void linear_stream(const float* x, int m, std::span<const LinearPart> parts, bool accumulate, cudaStream_t stream) {
  CUDA_REQUIRE(linear_stream_applies(x, m, parts), "linear_stream: the matrices or x do not fit this path");
  const DeviceMatrix& w0 = parts[0].w;
  const StreamArgs a = stream_args(x, m, parts, accumulate);
  const size_t smem = smem_bytes(m, w0.cols);
  if (w0.format == WeightFormat::BF16) {
    if (m == 1) launch_stream<WeightFormat::BF16, 1>(a, smem, stream);
    else launch_stream<WeightFormat::BF16, 2>(a, smem, stream);
  } else {
    if (m == 1) launch_stream<WeightFormat::FP8, 1>(a, smem, stream);
    else launch_stream<WeightFormat::FP8, 2>(a, smem, stream);
  }
}

}  // namespace tachyon::cuda
