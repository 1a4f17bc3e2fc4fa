// Probe (session 21, kept as the raw source of experiments/probes.txt s21h; not built by the project): the one-token
// gate_up kernel as of that run (16 compute warps, four copies a CTA), with %globaltimer stamps per CTA.
// Build from the repository root: nvcc -I. -O3 -arch=sm_90a --expt-relaxed-constexpr -std=c++20 THIS -o otp; ./otp 6144 256
#include <cuda_runtime.h>
#include <cstdio>
#include <vector>
#include <algorithm>
#include <random>
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/moe_gemm_mma.cuh"
#include "kernels/cuda/tma.cuh"
#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("%s:%d %s\n", __FILE__, __LINE__, cudaGetErrorString(e)); exit(1);} } while (0)
namespace tachyon::cuda::moe_detail {
constexpr int kOneTokenSplits = 8;                          // K splits (as the block-column kernel at 8 warps)
constexpr int kOneTokenComputeWarps = 2 * kOneTokenSplits;  // x the two m-tiles
constexpr int kOneTokenThreads = (kOneTokenComputeWarps + 1) * 32;  // + the producer warp
constexpr int kOneTokenUnitRows = 16;
constexpr int kOneTokenMaxStage = 2;  // x staging: at most 2 x 512 units of 8 values (K <= 8192)

// Shared memory of the kernel, in bytes: the unit's 32 weight rows (gate, then up) and their scale bytes, x
// and a zero row (BF16 in the decoder's order), the K splits' partials and the two matrices' mbarriers.
__host__ __device__ constexpr size_t one_token_smem_bytes(int K) {
  return 2 * kOneTokenUnitRows * (static_cast<size_t>(K) / 2 + static_cast<size_t>(K) / 32)  // weights, scales
         + 2 * (2 * static_cast<size_t>(K))                                                // x, zero row
         + kOneTokenSplits * kMT * 128 * sizeof(float) + kMT * sizeof(uint64_t);
}

// x of the step's one token, times 2^64 (the block columns' shift, see stage_activations), into xs in the
// decoder's order: chunk (step s, block kb) at byte (s * nb + kb) * 8. Thread t of `threads`; all of a
// thread's loads are issued before any is used.
__device__ __forceinline__ void stage_one_token_x(const float* x, int nb, uint8_t* xs, int t, int threads) {
  const int units = 4 * nb;  // (word wi, block kb): 8 consecutive values
  float4 f[kOneTokenMaxStage][2];
#pragma unroll
  for (int i = 0; i < kOneTokenMaxStage; ++i) {
    const int u = t + i * threads;
    if (u < units) {
      const float* src = x + (u % nb) * 32 + 8 * (u / nb);
      f[i][0] = __ldg(reinterpret_cast<const float4*>(src));
      f[i][1] = __ldg(reinterpret_cast<const float4*>(src + 4));
    }
  }
#pragma unroll
  for (int i = 0; i < kOneTokenMaxStage; ++i) {
    const int u = t + i * threads;
    if (u < units) {
      const int kb = u % nb, wi = u / nb;
      constexpr float s = 0x1p64f;
      const float4 a = f[i][0], b = f[i][1];
      *reinterpret_cast<uint2*>(xs + ((2 * wi) * nb + kb) * 8) =
          make_uint2(pack_bf16x2(a.x * s, b.x * s), pack_bf16x2(a.y * s, b.y * s));
      *reinterpret_cast<uint2*>(xs + ((2 * wi + 1) * nb + kb) * 8) =
          make_uint2(pack_bf16x2(a.z * s, b.z * s), pack_bf16x2(a.w * s, b.w * s));
    }
  }
}

// This CTA's unit: the b-th over the step's local pairs (pair-major), lane j of a warp reading pair j
// (n_pairs <= 32). Every lane of the warp calls it; valid = false past the last unit.
struct OneTokenUnit {
  bool valid;
  int pair, expert, row_tile;

  __device__ __forceinline__ OneTokenUnit(const MoeGemmParams& p, int b) {
    const int lane = threadIdx.x % 32;
    const int bucket =
        lane < p.n_pairs ? local_expert_bucket(p.expert_ids[lane], p.expert_begin, p.local_experts) : p.local_experts;
    const unsigned local = __ballot_sync(kFullMask, bucket < p.local_experts);
    const int row_tiles = (p.rows + kOneTokenUnitRows - 1) / kOneTokenUnitRows;
    const int lp = b / row_tiles;
    valid = lp < __popc(local);
    row_tile = b - lp * row_tiles;
    pair = valid ? static_cast<int>(__fns(local, 0, lp + 1)) : 0;
    expert = __shfl_sync(kFullMask, bucket, pair);
  }
};

// The k-iterations (4 blocks of 32 values a quad) of K split ks, and the chunk [c0, c1) that holds them.
struct OneTokenSplit {
  int k0, k1;
};
__device__ __forceinline__ OneTokenSplit one_token_split(int n_it, int ks) {
  const int J = (n_it + kOneTokenSplits - 1) / kOneTokenSplits;
  return {min(ks * J, n_it), min((ks + 1) * J, n_it)};
}

__global__ void __launch_bounds__(kOneTokenThreads, 1) moe_gate_up_one_token_kernel(const MoeGemmParams p, unsigned long long* stamps) {
  auto stamp = [&](int i, int t) { if (threadIdx.x == t) { unsigned long long v; asm volatile("mov.u64 %0, %globaltimer;" : "=l"(v)); stamps[blockIdx.x * 8 + i] = v; } };
  extern __shared__ __align__(16) uint8_t smem[];
  const int K = p.K, nb = p.nb, nb8 = nb * 8, n_it = nb / 4;  // K % 512 == 0: whole k-iterations
  const size_t row_bytes = K / 2, scale_bytes = K / 32;
  uint8_t* rows = smem;  // [m-tile][16][K / 2]
  uint8_t* scales = rows + 2 * kOneTokenUnitRows * row_bytes;
  uint8_t* xs = scales + 2 * kOneTokenUnitRows * scale_bytes;
  uint8_t* zero = xs + 2 * K;
  float* red = reinterpret_cast<float*>(zero + 2 * K);  // [split][m-tile][4][32]
  uint64_t* bars = reinterpret_cast<uint64_t*>(red + kOneTokenSplits * kMT * 128);  // [m-tile]
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, gid = lane / 4, tig = lane % 4;

  if (tid == 0) {
    for (int m = 0; m < kMT; ++m) mbar_init(&bars[m], 1);
    mbar_init_fence();
  }
  for (int i = tid; i < 2 * K / 16; i += blockDim.x) reinterpret_cast<uint4*>(zero)[i] = make_uint4(0, 0, 0, 0);
  __syncthreads();
  pdl_enter();  // the expert ids and x are the launches before's
  stamp(0, 0);

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
  stamp(1, 0);

  const int mt = warp % 2, ks = warp / 2;
  if (warp < kOneTokenComputeWarps) {
    // Lane (gid, tig) feeds x into column gid of the B fragment only where gid = 2 tig (token 0): column 2 tig
    // then sums exactly the lane's own block (mma_steps_mxfp4_unscaled); every other lane feeds zeros.
    const uint8_t* xrow = gid == 2 * tig ? xs : zero;
    const OneTokenSplit sp = one_token_split(n_it, ks);
    float acc[4] = {};
    mbar_wait(&bars[mt], 0);
    stamp(2, 0); stamp(6, 14 * 32 + 32);
    for (int kit = sp.k0; kit < sp.k1; ++kit) {
      const int kb = kit * 4 + tig;
      // mma_steps_mxfp4_unscaled computes kMT m-tiles; this warp's is slot 0 (slot 1 gets zero weights and
      // is dropped), so that the product of each element is the one the block-column kernel makes. The 8 rows
      // a fragment reads are K / 2 bytes apart, so their 16 bytes share banks (8 shared-memory passes where 4
      // would do); padding them apart would take a copy a row.
      uint32_t w[kMT][2][4] = {};
      uint32_t sc[2];
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int r = mt * kOneTokenUnitRows + h * 8 + gid;
        lds_weight_block(rows + r * row_bytes + kb * 16, w[0][h]);
        sc[h] = scales[r * scale_bytes + kb];
      }
      float t[kMT][4];
      mma_steps_mxfp4_unscaled(w, xrow + kb * 8, nb8, t);
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        // The block's value is the sum * 2^(b - 127), the sum being E2M1 * 2^-126 * x * 2^64 (MmaCta::compute).
        const uint32_t b = sc[h];
        float f = __uint_as_float((b + 62u) << 23);  // 2^(b - 65), b <= 192
        float t0 = t[0][2 * h], t1 = t[0][2 * h + 1];
        if (b > 192u) {
          f = b == 0xFFu ? __uint_as_float(0x7fc00000u) : __uint_as_float(b << 23);
          t0 *= 0x1p62f;
          t1 *= 0x1p62f;
        }
        acc[2 * h] = fmaf(t0, f, acc[2 * h]);
        acc[2 * h + 1] = fmaf(t1, f, acc[2 * h + 1]);
      }
    }
    stamp(3, 0); stamp(7, 14 * 32 + 32);
#pragma unroll
    for (int i = 0; i < 4; ++i) red[((ks * kMT + mt) * 4 + i) * 32 + lane] = acc[i];
  }
  __syncthreads();
  stamp(4, 0);
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
        a[0] += __shfl_xor_sync(kFullMask, a[0], 1);
        a[0] += __shfl_xor_sync(kFullMask, a[0], 2);
        v[m][h] = a[0];
      }
    const int row = u.row_tile * kOneTokenUnitRows + gid + 8 * (tig >> 1);
    if ((tig & 1) == 0 && row < p.rows) {
      const float g = tig == 0 ? v[0][0] : v[0][1];  // selects: an index by tig would put v in local memory
      const float up = tig == 0 ? v[1][0] : v[1][1];
      p.out[static_cast<size_t>(u.pair) * p.rows + row] = epilogue_value<Proj::GateUp>(p, u.expert, row, g, up, 1.0f);
    }
  }
  stamp(5, 0);
}

}
using namespace tachyon::cuda;
using namespace tachyon::cuda::moe_detail;
int main(int argc, char** argv) {
  const int E = 384, K = argc > 1 ? atoi(argv[1]) : 6144, I = argc > 2 ? atoi(argv[2]) : 256, top = 8, sets = 48;
  const size_t row_b = K / 2, srow = K / 32;
  uint8_t *wg, *wu, *sg, *su;
  CK(cudaMalloc(&wg, (size_t)E * I * row_b)); CK(cudaMalloc(&wu, (size_t)E * I * row_b));
  CK(cudaMalloc(&sg, (size_t)E * I * srow)); CK(cudaMalloc(&su, (size_t)E * I * srow));
  cudaMemset(wg, 0x11, (size_t)E * I * row_b); cudaMemset(wu, 0x22, (size_t)E * I * row_b);
  cudaMemset(sg, 120, (size_t)E * I * srow); cudaMemset(su, 120, (size_t)E * I * srow);
  std::vector<int> ids(sets * top); std::vector<int> perm(E); for (int i = 0; i < E; ++i) perm[i] = i;
  std::mt19937 rng(1); std::shuffle(perm.begin(), perm.end(), rng);
  for (int i = 0; i < sets * top; ++i) ids[i] = perm[i % E];
  int* d_ids; CK(cudaMalloc(&d_ids, ids.size() * 4)); CK(cudaMemcpy(d_ids, ids.data(), ids.size() * 4, cudaMemcpyHostToDevice));
  float *x, *out; CK(cudaMalloc(&x, K * 4)); cudaMemset(x, 0, K * 4); CK(cudaMalloc(&out, top * I * 4));
  int sms; cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0);
  const int units = top * ((I + 15) / 16), slots = 1;
  const size_t smem = one_token_smem_bytes(K);
  CK(cudaFuncSetAttribute(moe_gate_up_one_token_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
  const int L = 64;
  unsigned long long* st; CK(cudaMalloc(&st, (size_t)L * sms * 8 * 8)); cudaMemset(st, 0, (size_t)L * sms * 64);
  MoeGemmParams base{};
  base.in = x; base.in_row_div = top; base.K = K; base.rows = I;
  auto mk = [&](uint8_t* d, uint8_t* s) { DeviceExperts e; e.first.format = tachyon::WeightFormat::MXFP4; e.first.rows = I; e.first.cols = K; e.first.data = d; e.first.data_row_stride = row_b; e.first.scales = s; e.first.scale_row_stride = srow; e.experts = E; e.expert_data_stride = (size_t)I * row_b; e.expert_scale_stride = (size_t)I * srow; return e; };
  base.w0 = mk(wg, sg); base.w1 = mk(wu, su); base.out = out; base.local_experts = E; base.n_pairs = top; base.expert_begin = 0; base.nb = K / 32;
  cudaStream_t stream; cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
  cudaGraph_t g; CK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
  for (int l = 0; l < L; ++l) {
    MoeGemmParams p = base; p.expert_ids = d_ids + (l % sets) * top;
    cudaLaunchConfig_t cfg = {}; cfg.gridDim = sms; cfg.blockDim = kOneTokenThreads; cfg.dynamicSmemBytes = smem; cfg.stream = stream;
    cudaLaunchAttribute at[1]; at[0].id = cudaLaunchAttributeProgrammaticStreamSerialization; at[0].val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = at; cfg.numAttrs = 1;
    CK(cudaLaunchKernelEx(&cfg, moe_gate_up_one_token_kernel, p, st + (size_t)l * sms * 8));
  }
  CK(cudaStreamEndCapture(stream, &g)); cudaGraphExec_t ge; CK(cudaGraphInstantiate(&ge, g, 0));
  cudaEvent_t e0, e1; cudaEventCreate(&e0); cudaEventCreate(&e1);
  std::vector<float> ts;
  for (int r = 0; r < 20; ++r) { cudaEventRecord(e0, stream); CK(cudaGraphLaunch(ge, stream)); cudaEventRecord(e1, stream); CK(cudaEventSynchronize(e1)); float ms; cudaEventElapsedTime(&ms, e0, e1); ts.push_back(ms * 1000 / L); }
  std::sort(ts.begin(), ts.end());
  printf("K %d I %d units %d slots %d smem %zu: %.2f us a launch\n", K, I, units, slots, smem, ts[ts.size() / 2]);
  std::vector<unsigned long long> h((size_t)L * sms * 8); cudaMemcpy(h.data(), st, h.size() * 8, cudaMemcpyDeviceToHost);
  // per launch l >= 8: CTA stamps relative to the launch's earliest stamp 0; medians over CTAs and launches
  const char* names[8] = {"after wait", "x staged+issued", "chunk0 landed", "w0 k-loop done", "all k-loops", "end", "chunk3 landed", "w14 k-loop done"};
  std::vector<std::vector<double>> d(8);
  std::vector<double> launch_span;
  for (int l = 8; l < L; ++l) {
    unsigned long long t0 = ~0ull, tend = 0, prev_end = 0;
    for (int b = 0; b < sms; ++b) { auto* s = &h[((size_t)l * sms + b) * 8]; if (s[0]) { t0 = std::min(t0, s[0]); tend = std::max(tend, s[5]); } }
    for (int b = 0; b < sms; ++b) { auto* s = &h[((size_t)l * sms + b) * 8]; if (!s[0] || !s[2]) continue; for (int i = 0; i < 8; ++i) d[i].push_back((s[i] - t0) / 1000.0); }
    for (int b = 0; b < sms; ++b) { auto* s = &h[((size_t)(l - 1) * sms + b) * 8]; if (s[0]) prev_end = std::max(prev_end, s[7]); }
    launch_span.push_back((tend - t0) / 1000.0);
    d[0].push_back(0);
  }
  for (int i = 0; i < 8; ++i) { auto v = d[i]; std::sort(v.begin(), v.end()); if (v.empty()) continue; printf("  %-14s median %.2f us  p90 %.2f\n", names[i], v[v.size() / 2], v[v.size() * 9 / 10]); }
  std::sort(launch_span.begin(), launch_span.end());
  printf("  first wait -> last end: median %.2f us\n", launch_span[launch_span.size() / 2]);
  return 0;
}
