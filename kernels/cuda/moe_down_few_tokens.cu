// The MXFP4 down projection of a step of 2-16 tokens (a verify block of one sequence, or a few sequences of one
// token), routed in-kernel: each CTA's share of the weights streams through a ring of shared-memory slots by bulk
// copies, the first slots asked for before the PDL wait.
//
// Why a kernel of its own: at a verify block the block's tokens share few experts (the MiMo-V2.5-Pro slice's
// 1 x 9 bench: 12-20 of 384 a layer), and the persistent kernel (moe_gemm_mma.cuh) took 15-17 us for 10-17 MB, 15-27%
// of the copy bandwidth: each of its items waits a DRAM latency behind a two-deep per-thread ring, and a quarter of
// its stall samples were instruction fetch (docs/benchmarks.md, session 26). down's routing and weights are two
// launches old, so, as the one-token kernel (moe_down_one_token.cu) does, the copies can go out before gate_up ends.
// (They mostly do not: the verify step's gate_up holds every register of its SMs, so a CTA of this kernel starts on an
// SM only as gate_up's CTA there ends; only SMs gate_up leaves idle start it early.)
//
// Where it pays (FewTokenDown::Auto, moe.h): one H200, same binary, `tachyon bench step --moe-parallel tp --seqs 1,8
// --tokens 1,9 --few-token-down auto|never|always`, interleaved in one call (docs/benchmarks.md, session 27):
// Qwen3-30B-A3B (K = 768, where the persistent kernel runs 8 warps) 1.07x at 1 x 9 and 1.04x at 8 x 1 (its down
// 23.7 -> 16.3 us a layer in the step's timelines at 1 x 9, two calls); the MiMo-V2.5-Pro slice (K = 256, the
// persistent kernel's 16 warps) 0.995x at 1 x 9 and 0.965x at 8 x 1. So Auto takes K >= 512 only: a rule from those two
// shapes. A pass of at most 8 tokens runs one n-tile (two, the first version's, cost the MiMo 1 x 9 step ~1 us a
// layer more).
//
// Work: the step's passes (an active expert's pairs, at most 8 NT a pass; more take several passes, as in the
// persistent kernel) x their 32-row tiles, pass-major, cut into one contiguous run a CTA. A pass's tiles are
// contiguous rows of one expert, so a group of the run's tiles is one or a few bulk copies of rows and of scale
// bytes. Groups of `group_tiles` tiles go round a ring of `slots` slots (a full and an empty mbarrier a slot): the
// producer warp asks for the first `slots` groups before the PDL wait and each later group once its slot's tiles
// are consumed. After the wait every warp stages x of the run's passes (BF16, the decoder's order: one staged row
// a token, as the persistent kernel's stage_activations); compute warp w then takes tiles w, w + 16, ... of the run,
// each over the whole K: the scaled decode and mma_steps_mxfp4 of the persistent kernel's NT-tile path, the
// epilogue router weight x (value + bias_scale x bias). Pairs of other ranks' experts get zero rows.
#include "kernels/cuda/moe_down_few_tokens.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/moe.h"
#include "kernels/cuda/moe_gemm_launch.cuh"
#include "kernels/cuda/moe_gemm_mma.cuh"
#include "kernels/cuda/moe_one_token.cuh"
#include "kernels/cuda/tma.cuh"
#include "kernels/cuda/wait_timeout.cuh"

namespace tachyon::cuda::moe_detail {

namespace {

std::atomic<FewTokenDown> g_few_token_down{FewTokenDown::Auto};

// Auto's rule: K of at least this (see the file's head).
constexpr int kFewAutoMinK = 512;

constexpr int kFewComputeWarps = 16;
constexpr int kFewThreads = (kFewComputeWarps + 1) * 32;  // + the producer warp
constexpr int kFewTileRows = 32;                          // a warp's tile: two m-tiles (kMT)
static_assert(kMT * 16 == kFewTileRows, "a tile is the kMT m-tiles of mma_steps_mxfp4");
constexpr int kFewMaxSlots = 64;

// The kernel's launch-time shape (host-chosen from the largest run any routing can give).
struct FewTokenDownShape {
  int group_tiles = 0;   // tiles a ring slot
  int slots = 0;         // ring slots
  int max_passes = 0;    // passes a CTA's run can span
};

// The kernel's shared memory, as byte offsets: one layout that the kernel carves and the host sizes (the
// launch's bytes, and what is left for the ring). In order: the ring (16-byte aligned first), x of max_passes passes
// (kNP rows of rs bytes each), the ring's full and empty mbarriers and the group each slot last asked for, the
// passes' tables (expert, first sorted pair, pair count), their pairs and router weights, then in-kernel routing's
// arrays as build_tables takes them (keys and sorted pairs; cursors, experts, starts, counts, passes before; the
// scan's scratch; misc).
struct FewTokenSmem {
  size_t xs, full, empty, slot_group, pass_exp, pass_first, pass_ntok, pairs, weights;
  size_t key, sorted, cursor, exp, start, cnt, pref, scratch, misc, total;

  __host__ __device__ FewTokenSmem(int K, int rs, int n_pairs, int L, int nt, const FewTokenDownShape& s) {
    const size_t np = 8 * static_cast<size_t>(nt), mp = s.max_passes, slots = s.slots, n = n_pairs, l = L;
    const size_t tile = kFewTileRows * (static_cast<size_t>(K) / 2 + static_cast<size_t>(K) / 32);
    size_t at = slots * s.group_tiles * tile;  // the ring
    auto take = [&at](size_t bytes) {
      const size_t here = at;
      at += bytes;
      return here;
    };
    xs = take(mp * np * rs);
    full = take(slots * sizeof(uint64_t));
    empty = take(slots * sizeof(uint64_t));
    slot_group = take(slots * 4);
    pass_exp = take(mp * 4);
    pass_first = take(mp * 4);
    pass_ntok = take(mp * 4);
    pairs = take(mp * np * 4);
    weights = take(mp * np * 4);
    key = take(n * 4);
    sorted = take(n * 4);
    cursor = take(l * 4);
    exp = take(l * 4);
    start = take(l * 4);
    cnt = take(l * 4);
    pref = take((l + 1) * 4);
    scratch = take(33 * 4);
    misc = take(4 * 4);
    total = at;
  }
};

size_t few_token_down_smem_bytes(const MoeGemmParams& p, int nt, const FewTokenDownShape& s) {
  return FewTokenSmem(p.K, p.rs, p.n_pairs, p.local_experts, nt, s).total;
}

// The tile of run index j: its group's slot, and where its rows and scale bytes sit in the slot.
struct FewTokenRing {
  uint8_t* base;
  int group_tiles, slots, row_bytes, scale_bytes;
  size_t slot_bytes;

  __device__ __forceinline__ uint8_t* slot(int g) const { return base + static_cast<size_t>(g % slots) * slot_bytes; }
  __device__ __forceinline__ uint8_t* rows(int g, int i) const {
    return slot(g) + static_cast<size_t>(i) * kFewTileRows * row_bytes;
  }
  __device__ __forceinline__ uint8_t* scales(int g, int i) const {
    return slot(g) + static_cast<size_t>(group_tiles) * kFewTileRows * row_bytes +
           static_cast<size_t>(i) * kFewTileRows * scale_bytes;
  }
};

// A pass as a tile's epilogue sees it: its local expert, its pairs (<= 16) and their router weights.
struct FewTokenPass {
  int expert, ntok;
  const int* pair;
  const float* weight;
};

// One 32-row tile of a pass over the whole K with NT n-tiles: the persistent kernel's scaled MXFP4 MMA steps
// (mma_steps_mxfp4) over the tile's rows and scale bytes in the ring and x staged at xp (this lane's row gid), the
// ring slot's empty barrier arrived at once the warp's reads are done, then router weight x (value + bias_scale x
// bias) for each of the pass's tokens, rows row0 + [0, 32).
template <int NT>
__device__ __forceinline__ void few_token_tile(const MoeGemmParams& p, const uint8_t* rows, const uint8_t* scales,
                                               int row_bytes, int scale_bytes, const uint8_t* xp, uint64_t* empty_bar,
                                               const FewTokenPass& pass, int row0) {
  const int nb = p.nb, n_it = (nb + 3) / 4, lane = threadIdx.x % 32, gid = lane / 4, tig = lane % 4;
  float acc[kMT][NT][4];
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
#pragma unroll
      for (int c = 0; c < 4; ++c) acc[mt][nt][c] = 0.0f;
  for (int kit = 0; kit < n_it; ++kit) {
    const int kb = kit * 4 + tig;
    uint32_t wv[kMT][2][4] = {};
    uint32_t sc[kMT][2] = {};
    bool two = false;
    if (kb < nb) {  // lanes past the row's last block multiply zero weights
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const int r = mt * 16 + h * 8 + gid;
          lds_weight_block(rows + r * row_bytes + kb * 16, wv[mt][h]);
          sc[mt][h] = scales[r * scale_bytes + kb];
          two |= sc[mt][h] > 128u;  // the scaled decoder's single factor 2^(b-1) holds up to b = 128
        }
    }
    const uint8_t* xb = xp + min(kb, nb - 1) * 8;
    if (__any_sync(kFullMask, two)) mma_steps_mxfp4<true, NT>(wv, sc, xb, 8 * p.rs, nb * 8, acc);
    else mma_steps_mxfp4<false, NT>(wv, sc, xb, 8 * p.rs, nb * 8, acc);
  }
  __syncwarp();  // every lane's reads of the slot are done
  if (lane == 0) mbar_arrive(empty_bar);

  // Accumulator c of n-tile nt: row gid + 8 (c / 2) of m-tile mt, token nt * 8 + 2 tig + c % 2 of the pass.
#pragma unroll
  for (int nt = 0; nt < NT; ++nt)
#pragma unroll
    for (int c = 0; c < 4; ++c) {
      const int tok = nt * 8 + 2 * tig + (c & 1);
      if (tok >= pass.ntok) continue;
      const int pr = pass.pair[tok];
      const float wt = pass.weight[tok];
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) {
        const int row = row0 + mt * 16 + gid + 8 * (c >> 1);
        p.out[static_cast<size_t>(pr) * p.rows + row] =
            epilogue_value<Proj::Down>(p, pass.expert, row, acc[mt][nt][c], 0.0f, wt);
      }
    }
}

template <int NT>
__global__ void __launch_bounds__(kFewThreads, 1)
    moe_down_few_tokens_kernel(const MoeGemmParams p, FewTokenDownShape shape) {
  constexpr int kNP = 8 * NT;
  extern __shared__ __align__(16) uint8_t smem[];
  const int K = p.K, rs = p.rs, L = p.local_experts;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, gid = lane / 4;
  const int Cb = shape.group_tiles, B = shape.slots;

  FewTokenRing ring{smem, Cb, B, K / 2, K / 32, 0};
  ring.slot_bytes = static_cast<size_t>(Cb) * kFewTileRows * (ring.row_bytes + ring.scale_bytes);
  const FewTokenSmem at(K, rs, p.n_pairs, L, NT, shape);
  auto ints = [&](size_t offset) { return reinterpret_cast<int*>(smem + offset); };
  uint8_t* xs = smem + at.xs;  // [pass][kNP][rs]
  uint64_t* full = reinterpret_cast<uint64_t*>(smem + at.full);
  uint64_t* empty = reinterpret_cast<uint64_t*>(smem + at.empty);
  volatile int* slot_group = ints(at.slot_group);  // [B]: the group last asked for in each slot
  int* pass_exp = ints(at.pass_exp);                // [max_passes]: the pass's local expert
  int* pass_first = ints(at.pass_first);            // [max_passes]: its first sorted pair
  int* pass_ntok = ints(at.pass_ntok);              // [max_passes]: its pairs (<= kNP)
  int* s_pair = ints(at.pairs);                     // [max_passes][kNP]
  float* s_wt = reinterpret_cast<float*>(smem + at.weights);
  MmaSmem m{};  // in-kernel routing's tables (build_tables)
  m.r_key = ints(at.key);
  m.r_sorted = ints(at.sorted);
  m.r_cursor = ints(at.cursor);
  m.s_exp = ints(at.exp);
  m.s_start = ints(at.start);
  m.s_cnt = ints(at.cnt);
  m.s_pref = ints(at.pref);
  m.r_scratch = ints(at.scratch);
  m.s_misc = ints(at.misc);

  if (tid == 0) {
    for (int s = 0; s < B; ++s) {
      mbar_init(&full[s], 1);
      mbar_init(&empty[s], Cb);
      slot_group[s] = s;
    }
    mbar_init_fence();
  }
  // Before the wait: the expert ids and router weights are two launches old (launch.cuh's contract).
  build_tables<kNP>(p, m);  // synchronizes the CTA (the mbarriers' initialization too)

  const int RT = p.rows / kFewTileRows;
  const int64_t T = static_cast<int64_t>(m.s_misc[0]) * RT;  // all passes x their tiles
  const int t0 = static_cast<int>(T * blockIdx.x / gridDim.x), t1 = static_cast<int>(T * (blockIdx.x + 1) / gridDim.x);
  // n_pass <= shape.max_passes (the host's bound)
  const int n = t1 - t0, pi0 = t0 / RT, n_pass = n > 0 ? (t1 - 1) / RT - pi0 + 1 : 0;
  const int groups = (n + Cb - 1) / Cb;
  for (int s = tid; s < n_pass; s += blockDim.x) {
    const int pi = pi0 + s;
    int a = 0;
    while (m.s_pref[a + 1] <= pi) ++a;
    const int q = pi - m.s_pref[a];
    pass_exp[s] = m.s_exp[a];
    pass_first[s] = m.s_start[a] + q * kNP;
    pass_ntok[s] = min(kNP, m.s_cnt[a] - q * kNP);
  }
  __syncthreads();
  for (int i = tid; i < n_pass * kNP; i += blockDim.x) {
    const int s = i / kNP, j = i % kNP;
    if (j < pass_ntok[s]) {
      const int pr = m.r_sorted[pass_first[s] + j];
      s_pair[i] = pr;
      s_wt[i] = p.pair_weight[pr];
    }
  }
  __syncthreads();

  // Group g's tiles (run indices [g Cb, ...)): per pass they span, one copy of rows and one of scale bytes.
  const DeviceMatrix& w = p.w0.first;
  auto issue_group = [&](int g) {
    const int j0 = g * Cb, j1 = min(n, j0 + Cb);
    uint64_t* bar = &full[g % B];
    mbar_arrive_expect_tx(bar, static_cast<unsigned>(j1 - j0) * kFewTileRows * (ring.row_bytes + ring.scale_bytes));
    for (int j = j0; j < j1;) {
      const int t = t0 + j, rt = t % RT, cnt = min(j1 - j, RT - rt);
      const size_t e = pass_exp[t / RT - pi0], row0 = static_cast<size_t>(rt) * kFewTileRows;
      bulk_copy(ring.rows(g, j - j0), w.data + e * p.w0.expert_data_stride + row0 * ring.row_bytes,
                cnt * kFewTileRows * ring.row_bytes, bar);
      bulk_copy(ring.scales(g, j - j0), w.scales + e * p.w0.expert_scale_stride + row0 * ring.scale_bytes,
                cnt * kFewTileRows * ring.scale_bytes, bar);
      j += cnt;
    }
  };
  if (warp == kFewComputeWarps && lane == 0)
    for (int g = 0; g < min(B, groups); ++g) issue_group(g);

  pdl_enter();  // gate_up's outputs (x) are the launch before's
  zero_nonlocal_rows(p, m.r_key);
  if (n == 0) return;
  for (int s = 0; s < n_pass; ++s)
    stage_activations<WeightFormat::MXFP4, Proj::Down>(p, s_pair + s * kNP, pass_ntok[s], NT * 8, 1.0f,
                                                           xs + static_cast<size_t>(s) * kNP * rs);
  __syncthreads();

  if (warp == kFewComputeWarps) {
    // The rest of the run: group g into its slot once the slot's group g - B is consumed.
    if (lane == 0)
      for (int g = B; g < groups; ++g) {
        mbar_wait(&empty[g % B], static_cast<unsigned>(g / B - 1) & 1u);
        issue_group(g);
        __threadfence_block();
        slot_group[g % B] = g;  // the slot's full barrier is now in group g's phase (see the compute loop)
      }
    return;
  }

  for (int j = warp; j < n; j += kFewComputeWarps) {
    const int g = j / Cb, i = j % Cb;
    // A warp's tiles are 16 apart, which can be more than a lap of the ring: a parity wait is only meaningful once
    // the slot's barrier is in group g's phase, i.e. once the producer has asked for group g there.
    const unsigned long long t_wait = globaltimer_ns();
    while (slot_group[g % B] != g) trap_after_timeout(t_wait);
    mbar_wait(&full[g % B], static_cast<unsigned>(g / B) & 1u);
    const int t = t0 + j, s = t / RT - pi0, row0 = (t % RT) * kFewTileRows;
    const uint8_t* xp = xs + static_cast<size_t>(s) * kNP * rs + gid * rs;
    const FewTokenPass pass{pass_exp[s], pass_ntok[s], s_pair + s * kNP, s_wt + s * kNP};
    // A pass of at most 8 tokens takes one n-tile (half the MMA steps of two).
    const uint8_t *rows = ring.rows(g, i), *scales = ring.scales(g, i);
    if (NT == 2 && pass.ntok > 8)
      few_token_tile<2>(p, rows, scales, ring.row_bytes, ring.scale_bytes, xp, &empty[g % B], pass, row0);
    else
      few_token_tile<1>(p, rows, scales, ring.row_bytes, ring.scale_bytes, xp, &empty[g % B], pass, row0);
  }
}

int few_token_tiles(int m) { return m <= 8 ? 1 : 2; }

// The largest run a CTA can get, over every routing of p's pairs: at most min(pairs, local experts) active
// experts, plus a pass for each further kNP pairs of one expert; the passes such a run spans.
FewTokenDownShape few_token_down_shape(const MoeGemmParams& p, int nt) {
  const int np = 8 * nt, sms = device_limits().sms, RT = p.rows / kFewTileRows;
  const int64_t passes = std::min<int64_t>(p.n_pairs, std::min(p.n_pairs, p.local_experts) + p.n_pairs / np);
  const int64_t run = (passes * RT + sms - 1) / sms;
  FewTokenDownShape s;
  s.max_passes = static_cast<int>(run <= 1 ? 1 : (run - 2) / RT + 2);
  // The ring takes what is left of the shared memory, in groups of two tiles (one where fewer than four fit).
  FewTokenDownShape probe = s;
  probe.group_tiles = 1;
  probe.slots = 0;
  const int64_t left = static_cast<int64_t>(device_limits().smem_optin) -
                       static_cast<int64_t>(few_token_down_smem_bytes(p, nt, probe));
  const int64_t tile = kFewTileRows * (static_cast<int64_t>(p.K) / 2 + p.K / 32);
  // A tile's share of a slot's two mbarriers and group word, as if every slot held one tile (at most what it takes).
  const int64_t tiles = std::min<int64_t>(std::max<int64_t>(left, 0) / (tile + 2 * sizeof(uint64_t) + 4), run);
  s.group_tiles = tiles >= 4 ? 2 : 1;
  s.slots = static_cast<int>(std::min<int64_t>(tiles / s.group_tiles, kFewMaxSlots));
  return s;
}

template <int NT>
void launch_few(const MoeGemmParams& p, cudaStream_t stream) {
  static bool configured = false;
  if (!configured) {
    use_whole_shared_memory(moe_down_few_tokens_kernel<NT>, device_limits().smem_optin);
    configured = true;
  }
  const FewTokenDownShape s = few_token_down_shape(p, NT);
  const LaunchShape shape{dim3(device_limits().sms), dim3(kFewThreads), few_token_down_smem_bytes(p, NT, s)};
  launch(moe_down_few_tokens_kernel<NT>, shape, stream, p, s);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

// Where the kernel takes p: m tokens, each of whose pairs names a distinct expert, give an expert at most m pairs
// (more, from callers that repeat an expert within a token, take further passes); whole 32-row tiles of
// contiguous rows (bulk copies), the routing's limits, and a ring slot beside x and the tables.
bool few_token_down_applies(const MoeGemmParams& p, int m) {
  const FewTokenDown mode = g_few_token_down.load(std::memory_order_relaxed);
  if (mode == FewTokenDown::Never || (mode == FewTokenDown::Auto && p.K < kFewAutoMinK)) return false;
  if (batch_invariant()) return false;  // a token's sums as the n-tile kernel makes them (batch_invariant.h)
  if (m < 2 || m > 16) return false;
  if (p.w0.first.format != WeightFormat::MXFP4 || p.expert_ids == nullptr || p.pair_weight == nullptr) return false;
  if (p.n_pairs == 0 || p.n_pairs > kInKernelRoutingMaxPairs) return false;
  if (p.local_experts > kInKernelRoutingMaxExperts) return false;
  if (p.rows % kFewTileRows != 0 || p.K % 32 != 0 || !aligned16(p.in) || !bulk_copyable_rows(p.w0, p.K)) return false;
  const int nt = few_token_tiles(m);
  const FewTokenDownShape s = few_token_down_shape(p, nt);
  return s.slots >= 1 && few_token_down_smem_bytes(p, nt, s) <= static_cast<size_t>(device_limits().smem_optin);
}

void launch_down_few_tokens(const MoeGemmParams& p, int m, cudaStream_t stream) {
  if (few_token_tiles(m) == 1) launch_few<1>(p, stream);
  else launch_few<2>(p, stream);
}

}  // namespace tachyon::cuda::moe_detail

namespace tachyon::cuda {

void set_moe_few_token_down(FewTokenDown mode) { moe_detail::g_few_token_down.store(mode, std::memory_order_relaxed); }

bool moe_down_few_tokens(int m, int top_k, const MoeRouting& routing, const float* act, const DeviceExperts& down,
                         const float* weights) {
  if (top_k <= 0 || down.first.rows == 0) return false;
  moe_detail::MoeGemmParams p = moe_detail::down_params(act, m, top_k, routing, down, nullptr, 1.0f, weights, nullptr);
  return moe_detail::with_mma_layout(p, false) && moe_detail::few_token_down_applies(p, m);
}

}  // namespace tachyon::cuda
