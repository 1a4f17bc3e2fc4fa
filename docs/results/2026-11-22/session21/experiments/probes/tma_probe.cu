// Probe (session 21; not built by the project): how fast can 128 CTAs pull the MiMo tp slice's one-token gate_up share
// (8 experts x 512 rows x 3072 bytes + scales = 13.4 MB) after a PDL wait, by variant.
// nvcc -O3 -arch=sm_90a -std=c++20 tma_probe.cu -o tma_probe
#include <cuda_runtime.h>
#include <cstdio>
#include <cstdint>
#include <vector>
#include <algorithm>
#include <random>

#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("%s:%d %s\n", __FILE__, __LINE__, cudaGetErrorString(e)); exit(1);} } while (0)

constexpr int kExperts = 384, kRows = 512, kRowBytes = 3072, kScaleBytes = 192, kTop = 8;
constexpr int kCtasPerExpert = 16, kRowsPerCta = kRows / kCtasPerExpert;  // 32 (16 gate + 16 up)
constexpr int kThreads = 256;
constexpr int kChunks = 4;  // mbarriers: row chunks of 8 rows

__device__ __forceinline__ unsigned smem_addr(const void* p) { return static_cast<unsigned>(__cvta_generic_to_shared(p)); }
__device__ __forceinline__ void mbar_init(uint64_t* bar, unsigned count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(smem_addr(bar)), "r"(count) : "memory");
}
__device__ __forceinline__ void mbar_arrive_expect_tx(uint64_t* bar, unsigned bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(smem_addr(bar)), "r"(bytes) : "memory");
}
__device__ __forceinline__ void mbar_wait(uint64_t* bar, unsigned parity) {
  unsigned ready = 0;
  do {
    asm volatile("{ .reg .pred p; mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2; selp.u32 %0, 1, 0, p; }"
                 : "=r"(ready) : "r"(smem_addr(bar)), "r"(parity) : "memory");
  } while (!ready);
}
__device__ __forceinline__ void bulk_copy(void* dst, const void* src, unsigned bytes, uint64_t* bar) {
  asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];" ::"r"(smem_addr(dst)),
               "l"(src), "r"(bytes), "r"(smem_addr(bar)) : "memory");
}
__device__ __forceinline__ void pdl_wait() { asm volatile("griddepcontrol.wait;" ::: "memory"); }
__device__ __forceinline__ void pdl_launch() { asm volatile("griddepcontrol.launch_dependents;" ::: "memory"); }

struct Args {
  const uint8_t* w;       // [experts, rows, row_bytes]
  const uint8_t* sc;      // [experts, rows, 192]
  const int* ids;         // [sets, 8]
  const float* x;         // [6144]
  float* out;             // [grid * threads]
  int set;
};

// 0: wait + ids only.  1: TMA whole share (chunks).  2: per-thread ldg of the share.  3: TMA + x staged (24 KB) from L2.
template <int V>
__global__ void __launch_bounds__(kThreads) probe(Args a) {
  extern __shared__ __align__(128) uint8_t smem[];
  __shared__ uint64_t bars[kChunks];
  const int e_slot = blockIdx.x / kCtasPerExpert, part = blockIdx.x % kCtasPerExpert;
  if (V == 1 || V == 3 || V == 4) {
    if (threadIdx.x == 0) {
      for (int c = 0; c < kChunks; ++c) mbar_init(&bars[c], 1);
      asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
    }
    __syncthreads();
  }
  pdl_wait();
  const int e = a.ids[a.set * kTop + e_slot];
  float s = 0.f;
  if (V == 0) {
    s = e;
  } else if (V == 1 || V == 3) {
    // rows: gate rows [part*16, +16) and up rows (256 + part*16, +16): as two contiguous runs; chunk c: 4 gate + 4 up rows
    const uint8_t* g = a.w + (static_cast<size_t>(e) * kRows + part * 16) * kRowBytes;
    const uint8_t* u = a.w + (static_cast<size_t>(e) * kRows + 256 + part * 16) * kRowBytes;
    if (threadIdx.x == 0) {
      for (int c = 0; c < kChunks; ++c) {
        const unsigned bytes = 2 * 4 * kRowBytes;
        mbar_arrive_expect_tx(&bars[c], bytes);
        bulk_copy(smem + c * bytes, g + c * 4 * kRowBytes, 4 * kRowBytes, &bars[c]);
        bulk_copy(smem + c * bytes + 4 * kRowBytes, u + c * 4 * kRowBytes, 4 * kRowBytes, &bars[c]);
      }
    }
    float* xs = reinterpret_cast<float*>(smem + kRowsPerCta * kRowBytes);
    if (V == 3) {
      for (int i = threadIdx.x; i < 6144 / 4; i += kThreads)
        reinterpret_cast<float4*>(xs)[i] = __ldcg(reinterpret_cast<const float4*>(a.x) + i);
      __syncthreads();
    }
    for (int c = 0; c < kChunks; ++c) {
      mbar_wait(&bars[c], 0);
      const uint4* p = reinterpret_cast<const uint4*>(smem + c * 8 * kRowBytes);
      for (int i = threadIdx.x; i < 8 * kRowBytes / 16; i += kThreads) { uint4 v = p[i]; s += v.x ^ v.y ^ v.z ^ v.w; }
    }
    if (V == 3) s += xs[threadIdx.x];
    pdl_launch();
  } else if (V == 4) {
    // per-row copies by warp 0's lanes (as the one-token kernel): 32 rows of 3072 B (+16 B pitch), one barrier
    if (threadIdx.x < 32) {
      const int r = threadIdx.x;
      const uint8_t* src = a.w + (static_cast<size_t>(e) * kRows + (r < 16 ? part * 16 + r : 256 + part * 16 + r - 16)) * kRowBytes;
      if (r == 0) mbar_arrive_expect_tx(&bars[0], 32 * kRowBytes);
      __syncwarp();
      bulk_copy(smem + r * (kRowBytes + 16), src, kRowBytes, &bars[0]);
    }
    mbar_wait(&bars[0], 0);
    const uint4* q = reinterpret_cast<const uint4*>(smem);
    for (int i = threadIdx.x; i < 32 * (kRowBytes + 16) / 16; i += kThreads) { uint4 v = q[i]; s += v.x ^ v.y ^ v.z ^ v.w; }
    pdl_launch();
  } else if (V == 2) {
    // thread t loads 24 x 16 B: row-major over the CTA's 32 rows
    const uint8_t* g = a.w + (static_cast<size_t>(e) * kRows + part * 16) * kRowBytes;
    const uint8_t* u = a.w + (static_cast<size_t>(e) * kRows + 256 + part * 16) * kRowBytes;
    uint4 v[24];
#pragma unroll
    for (int i = 0; i < 24; ++i) {
      const int idx = i * kThreads + threadIdx.x;  // 16-byte units over 32 rows x 192
      const uint8_t* base = idx < 16 * 192 ? g : u;
      const int j = idx % (16 * 192);
      v[i] = __ldcs(reinterpret_cast<const uint4*>(base) + j);
    }
    pdl_launch();
#pragma unroll
    for (int i = 0; i < 24; ++i) s += v[i].x ^ v[i].y ^ v[i].z ^ v[i].w;
  }
  a.out[blockIdx.x * kThreads + threadIdx.x] = s;
}

template <int V>
float time_variant(const Args& base, int sets, cudaStream_t st, int grid) {
  const size_t smem = kRowsPerCta * (kRowBytes + 16) + 6144 * 4;
  CK(cudaFuncSetAttribute(probe<V>, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
  constexpr int kLaunches = 64;
  cudaGraph_t g;
  CK(cudaStreamBeginCapture(st, cudaStreamCaptureModeGlobal));
  for (int l = 0; l < kLaunches; ++l) {
    Args a = base;
    a.set = l % sets;
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = grid;
    cfg.blockDim = kThreads;
    cfg.dynamicSmemBytes = (V == 1 || V == 3 || V == 4) ? smem : 0;
    cfg.stream = st;
    cudaLaunchAttribute at[1];
    at[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    at[0].val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = at;
    cfg.numAttrs = 1;
    CK(cudaLaunchKernelEx(&cfg, probe<V>, a));
  }
  CK(cudaStreamEndCapture(st, &g));
  cudaGraphExec_t ge;
  CK(cudaGraphInstantiate(&ge, g, 0));
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  std::vector<float> ts;
  for (int r = 0; r < 30; ++r) {
    cudaEventRecord(e0, st);
    CK(cudaGraphLaunch(ge, st));
    cudaEventRecord(e1, st);
    CK(cudaEventSynchronize(e1));
    float ms;
    cudaEventElapsedTime(&ms, e0, e1);
    ts.push_back(ms * 1000.f / kLaunches);
  }
  std::sort(ts.begin(), ts.end());
  return ts[ts.size() / 2];
}

int main() {
  const size_t wbytes = static_cast<size_t>(kExperts) * kRows * kRowBytes;
  uint8_t* w;
  CK(cudaMalloc(&w, wbytes));
  CK(cudaMemset(w, 1, wbytes));
  const int sets = 48;  // 48 sets x 8 experts: 384 distinct experts cycle (no L2 reuse across neighbours)
  std::vector<int> ids(sets * kTop);
  std::mt19937 rng(1);
  std::vector<int> perm(kExperts);
  for (int i = 0; i < kExperts; ++i) perm[i] = i;
  std::shuffle(perm.begin(), perm.end(), rng);
  for (int i = 0; i < sets * kTop; ++i) ids[i] = perm[i % kExperts];
  int* d_ids;
  CK(cudaMalloc(&d_ids, ids.size() * 4));
  CK(cudaMemcpy(d_ids, ids.data(), ids.size() * 4, cudaMemcpyHostToDevice));
  float *x, *out;
  CK(cudaMalloc(&x, 6144 * 4));
  CK(cudaMemset(x, 0, 6144 * 4));
  CK(cudaMalloc(&out, 132 * kThreads * 4));
  cudaStream_t st;
  CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
  Args a{w, nullptr, d_ids, x, out, 0};
  const int grid = kTop * kCtasPerExpert;
  const double mb = double(kTop) * kRows * kRowBytes / 1e6;
  for (int round = 0; round < 2; ++round) {
    printf("round %d (%.1f MB a launch, grid %d)\n", round, mb, grid);
    printf("  wait+ids only      %.2f us\n", time_variant<0>(a, sets, st, grid));
    float t1 = time_variant<1>(a, sets, st, grid);
    printf("  tma whole share    %.2f us  (%.0f GB/s)\n", t1, mb * 1e3 / t1);
    float t2 = time_variant<2>(a, sets, st, grid);
    printf("  ldg 24 x 16B       %.2f us  (%.0f GB/s)\n", t2, mb * 1e3 / t2);
    float t4 = time_variant<4>(a, sets, st, grid);
    printf("  tma per-row copies %.2f us  (%.0f GB/s)\n", t4, mb * 1e3 / t4);
    float t3 = time_variant<3>(a, sets, st, grid);
    printf("  tma + x from L2    %.2f us  (%.0f GB/s)\n", t3, mb * 1e3 / t3);
  }
  return 0;
}
