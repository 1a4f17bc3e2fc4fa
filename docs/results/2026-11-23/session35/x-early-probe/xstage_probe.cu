// Probe (not part of the project): how long do G CTAs take to stage the same 24 KB row of x from the L2,
// against each CTA its own copy, DSMEM sharing in clusters of 8, and TMA multicast in clusters of 8.
#include <cooperative_groups.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace cg = cooperative_groups;

#define CK(x)                                                                               \
  do {                                                                                      \
    cudaError_t e = (x);                                                                    \
    if (e != cudaSuccess) {                                                                 \
      printf("%s:%d %s\n", __FILE__, __LINE__, cudaGetErrorString(e));                      \
      exit(1);                                                                              \
    }                                                                                       \
  } while (0)

__device__ __forceinline__ uint64_t gtime() {
  uint64_t t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}
__device__ __forceinline__ unsigned saddr(const void* p) { return static_cast<unsigned>(__cvta_generic_to_shared(p)); }

constexpr int kBytes = 24576;
constexpr int kFloats = kBytes / 4;

__global__ void writer(float* x, int copies, float v) {
  for (size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < static_cast<size_t>(copies) * kFloats; i += gridDim.x * blockDim.x)
    x[i] = v + (i % kFloats);
}

// mode 0: every CTA reads copy 0; mode 1: CTA b reads copy b.
__global__ void stage_ld(const float* x, int mode, uint64_t* t, float* sink) {
  __shared__ __align__(16) float xs[kFloats];
  const uint64_t t0 = gtime();
  const float* src = x + (mode == 1 ? static_cast<size_t>(blockIdx.x) * kFloats : 0);
  for (int i = threadIdx.x; i < kFloats / 4; i += blockDim.x)
    reinterpret_cast<float4*>(xs)[i] = reinterpret_cast<const float4*>(src)[i];
  __syncthreads();
  const uint64_t t1 = gtime();
  if (threadIdx.x == 0) {
    t[2 * blockIdx.x] = t0;
    t[2 * blockIdx.x + 1] = t1;
    sink[blockIdx.x] = xs[(blockIdx.x * 37) % kFloats];
  }
}

// Clusters of 8: CTA r loads slice r, cluster barrier, then copies the 7 other slices from its peers.
__global__ void __cluster_dims__(8, 1, 1) stage_dsmem(const float* x, uint64_t* t, float* sink) {
  __shared__ __align__(16) float xs[kFloats];
  cg::cluster_group cl = cg::this_cluster();
  const uint64_t t0 = gtime();
  const int r = cl.block_rank();
  constexpr int slice = kFloats / 8;
  for (int i = threadIdx.x; i < slice / 4; i += blockDim.x)
    reinterpret_cast<float4*>(xs + r * slice)[i] = reinterpret_cast<const float4*>(x + r * slice)[i];
  cl.sync();
  for (int p = 1; p < 8; ++p) {
    const int q = (r + p) % 8;
    const float4* peer = reinterpret_cast<const float4*>(cl.map_shared_rank(xs + q * slice, q));
    for (int i = threadIdx.x; i < slice / 4; i += blockDim.x) reinterpret_cast<float4*>(xs + q * slice)[i] = peer[i];
  }
  cl.sync();  // peers must not exit while their smem is read
  const uint64_t t1 = gtime();
  if (threadIdx.x == 0) {
    t[2 * blockIdx.x] = t0;
    t[2 * blockIdx.x + 1] = t1;
    sink[blockIdx.x] = xs[(blockIdx.x * 37) % kFloats];
  }
}

// One CTA: a 1D bulk copy of the whole row (no multicast).
__global__ void stage_bulk(const float* x, uint64_t* t, float* sink) {
  __shared__ __align__(16) float xs[kFloats];
  __shared__ __align__(8) uint64_t bar;
  const uint64_t t0 = gtime();
  if (threadIdx.x == 0) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;" ::"r"(saddr(&bar)));
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(saddr(&bar)), "r"(kBytes) : "memory");
    asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];" ::"r"(saddr(xs)),
                 "l"(x), "r"(kBytes), "r"(saddr(&bar))
                 : "memory");
  }
  unsigned ready = 0;
  do {
    asm volatile("{ .reg .pred p; mbarrier.try_wait.parity.shared::cta.b64 p, [%1], 0; selp.u32 %0, 1, 0, p; }"
                 : "=r"(ready)
                 : "r"(saddr(&bar))
                 : "memory");
  } while (!ready);
  const uint64_t t1 = gtime();
  if (threadIdx.x == 0) {
    t[2 * blockIdx.x] = t0;
    t[2 * blockIdx.x + 1] = t1;
    sink[blockIdx.x] = xs[(blockIdx.x * 37) % kFloats];
  }
}

// Clusters of 8: CTA r multicasts slice r to all 8 (one bulk copy each), every CTA waits for 24 KB.
__global__ void __cluster_dims__(8, 1, 1) stage_mcast(const float* x, uint64_t* t, float* sink) {
  __shared__ __align__(128) float xs[kFloats];
  __shared__ __align__(8) uint64_t bar;
  cg::cluster_group cl = cg::this_cluster();
  const uint64_t t0 = gtime();
  const int r = cl.block_rank();
  if (threadIdx.x == 0) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;" ::"r"(saddr(&bar)));
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(saddr(&bar)), "r"(kBytes) : "memory");
  }
  cl.sync();  // every peer's barrier armed before any multicast lands
  constexpr int slice = kBytes / 8;
  if (threadIdx.x == 0) {
    const unsigned short mask = 0xff;
    asm volatile(
        "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes.multicast::cluster [%0], [%1], %2, [%3], %4;" ::"r"(
            saddr(reinterpret_cast<char*>(xs) + r * slice)),
        "l"(reinterpret_cast<const char*>(x) + r * slice), "r"(slice), "r"(saddr(&bar)), "h"(mask)
        : "memory");
  }
  unsigned ready = 0;
  do {
    asm volatile("{ .reg .pred p; mbarrier.try_wait.parity.shared::cta.b64 p, [%1], 0; selp.u32 %0, 1, 0, p; }"
                 : "=r"(ready)
                 : "r"(saddr(&bar))
                 : "memory");
  } while (!ready);
  const uint64_t t1 = gtime();
  if (threadIdx.x == 0) {
    t[2 * blockIdx.x] = t0;
    t[2 * blockIdx.x + 1] = t1;
    sink[blockIdx.x] = xs[(blockIdx.x * 37) % kFloats];
  }
  cl.sync();  // no CTA exits while a multicast into it may be in flight from a peer... (all landed by now)
}

int main() {
  int sms = 0;
  CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  const int copies = 2 * sms + 8;
  float *x, *sink;
  uint64_t* t;
  CK(cudaMalloc(&x, static_cast<size_t>(copies) * kBytes));
  CK(cudaMalloc(&sink, 4096 * sizeof(float)));
  CK(cudaMalloc(&t, 2 * 4096 * sizeof(uint64_t)));
  std::vector<uint64_t> h(2 * 4096);
  const char* names[] = {"ld same row", "ld own copy", "dsmem cluster 8", "bulk copy a CTA", "multicast cluster 8"};
  for (int grid : {128, 2 * sms}) {
    for (int threads : {256, 512}) {
      for (int mode = 0; mode < 5; ++mode) {
        std::vector<double> spans, meds;
        for (int rep = 0; rep < 50; ++rep) {
          writer<<<sms, 512>>>(x, mode == 1 ? copies : 1, static_cast<float>(rep));
          switch (mode) {
            case 0: stage_ld<<<grid, threads>>>(x, 0, t, sink); break;
            case 1: stage_ld<<<grid, threads>>>(x, 1, t, sink); break;
            case 2: stage_dsmem<<<grid, threads>>>(x, t, sink); break;
            case 3: stage_bulk<<<grid, threads>>>(x, t, sink); break;
            case 4: stage_mcast<<<grid, threads>>>(x, t, sink); break;
          }
          CK(cudaGetLastError());
          CK(cudaDeviceSynchronize());
          CK(cudaMemcpy(h.data(), t, 2 * grid * sizeof(uint64_t), cudaMemcpyDeviceToHost));
          uint64_t lo = UINT64_MAX, hi = 0;
          std::vector<double> d;
          for (int b = 0; b < grid; ++b) {
            lo = std::min(lo, h[2 * b]);
            hi = std::max(hi, h[2 * b + 1]);
            d.push_back(static_cast<double>(h[2 * b + 1] - h[2 * b]));
          }
          std::sort(d.begin(), d.end());
          if (rep >= 5) {
            spans.push_back(static_cast<double>(hi - lo));
            meds.push_back(d[d.size() / 2]);
          }
        }
        std::sort(spans.begin(), spans.end());
        std::sort(meds.begin(), meds.end());
        printf("grid %4d threads %4d  %-22s  CTA median %.2f us, first start to last end %.2f us (medians of 45)\n", grid,
               threads, names[mode], meds[meds.size() / 2] / 1000, spans[spans.size() / 2] / 1000);
      }
    }
  }
  return 0;
}
