// GemvChain (gemv_chain.h): the persistent, warp-specialized chain of BF16 GEMVs.
//
// Work split: op i's rows are cut into one contiguous share a CTA ([rows * b / G, rows * (b + 1) / G)),
// taken 8 rows (a group) at a time. The ring holds whole groups: the producer copies a group's rows, which
// are contiguous in memory, with one bulk copy (TMA) that signals the slot's "full" mbarrier; each consumer
// warp signals the slot's "empty" mbarrier once it has read its part. A consumer warp owns a fixed set of
// 256-column chunks (chunk c: warp c % 8), keeps x of those chunks in registers for the whole op, and
// dots them with the 8 rows of each group; the 8 warps' partial sums are added in warp order in shared
// memory (deterministic), and one lane a row writes y.
#include <cuda_bf16.h>

#include <algorithm>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/dequant.cuh"
#include "kernels/cuda/tma.cuh"
#include "kernels/cuda/wait_timeout.cuh"
#include "kernels/engine/gemv_chain.h"

namespace tachyon::cuda {

namespace {

constexpr int kConsumerWarps = 8;
constexpr int kThreads = (kConsumerWarps + 1) * 32;  // + the producer warp
constexpr int kGroupRows = 8;
constexpr int kChunk = 256;  // columns: 32 lanes x 8
constexpr int kMaxChunksPerWarp = kGemvChainMaxCols / kChunk / kConsumerWarps;
constexpr int kMaxSlots = 8;
constexpr size_t kRingBytes = 192 * 1024;
constexpr unsigned kConsumerBarrier = 1;  // named barrier of the consumer warps (0 is __syncthreads)

__device__ __forceinline__ unsigned load_acquire(const uint32_t* p) {
  unsigned v;
  asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
  return v;
}
__device__ __forceinline__ void add_release(uint32_t* p, unsigned v) {
  asm volatile("red.release.gpu.global.add.u32 [%0], %1;" ::"l"(p), "r"(v) : "memory");
}
__device__ __forceinline__ float4 load_l2(const float* p) {  // x is rewritten during the kernel: not via L1
  float4 v;
  asm volatile("ld.global.cg.v4.f32 {%0, %1, %2, %3}, [%4];" : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w) : "l"(p));
  return v;
}

struct Share {
  int r0, r1;
};
__device__ __forceinline__ Share share_of(const GemvChainOp& op) {
  const int G = gridDim.x, b = blockIdx.x;
  return {static_cast<int>(static_cast<int64_t>(op.rows) * b / G), static_cast<int>(static_cast<int64_t>(op.rows) * (b + 1) / G)};
}

__global__ void __launch_bounds__(kThreads, 1)
    gemv_chain_kernel(const GemvChainOp* ops, int n_ops, uint32_t* done, int slots, unsigned slot_bytes) {
  extern __shared__ __align__(128) uint8_t smem[];
  uint8_t* ring = smem;
  uint64_t* full = reinterpret_cast<uint64_t*>(smem + static_cast<size_t>(slots) * slot_bytes);
  uint64_t* empty = full + kMaxSlots;
  float* red = reinterpret_cast<float*>(empty + kMaxSlots);  // [2][kConsumerWarps][kGroupRows]
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (threadIdx.x == 0) {
    for (int s = 0; s < slots; ++s) {
      mbar_init(&full[s], 1);
      mbar_init(&empty[s], kConsumerWarps);
    }
    mbar_init_fence();
  }
  __syncthreads();

  if (warp == kConsumerWarps) {  // producer: every op's groups, in order, as far ahead as the ring allows
    if (lane != 0) return;
    int seq = 0;
    for (int i = 0; i < n_ops; ++i) {
      const GemvChainOp op = ops[i];
      const Share sh = share_of(op);
      for (int g = sh.r0; g < sh.r1; g += kGroupRows, ++seq) {
        const int s = seq % slots, k = seq / slots;
        if (k > 0) mbar_wait(&empty[s], (k - 1) & 1);
        const unsigned bytes = static_cast<unsigned>(min(kGroupRows, sh.r1 - g)) * op.cols * 2;
        mbar_arrive_expect_tx(&full[s], bytes);
        bulk_copy(ring + static_cast<size_t>(s) * slot_bytes, op.w + static_cast<size_t>(g) * op.cols, bytes, &full[s]);
      }
    }
    return;
  }

  // Consumers.
  const int G = gridDim.x;
  int seq = 0, buf = 0;
  for (int i = 0; i < n_ops; ++i) {
    const GemvChainOp op = ops[i];
    const Share sh = share_of(op);
    const int chunks = op.cols / kChunk;
    // x_i is complete once op i - 1 is, on every CTA (each CTA ends its ops in order).
    if (i > 0) {
      if (lane == 0) {
        const unsigned long long t0 = globaltimer_ns();
        while (load_acquire(&done[i - 1]) < static_cast<unsigned>(G)) trap_after_timeout(t0);  // a CTA that never ends
      }
      __syncwarp();
    }
    float xr[kMaxChunksPerWarp][8];
#pragma unroll
    for (int j = 0; j < kMaxChunksPerWarp; ++j) {
      const int c = warp + j * kConsumerWarps;
      float4 a = make_float4(0.f, 0.f, 0.f, 0.f), b = a;
      if (c < chunks) {
        a = load_l2(op.x + c * kChunk + lane * 8);
        b = load_l2(op.x + c * kChunk + lane * 8 + 4);
      }
      xr[j][0] = a.x, xr[j][1] = a.y, xr[j][2] = a.z, xr[j][3] = a.w;
      xr[j][4] = b.x, xr[j][5] = b.y, xr[j][6] = b.z, xr[j][7] = b.w;
    }
    for (int g = sh.r0; g < sh.r1; g += kGroupRows, ++seq) {
      const int s = seq % slots, n = min(kGroupRows, sh.r1 - g);
      mbar_wait(&full[s], (seq / slots) & 1);
      const uint8_t* slot = ring + static_cast<size_t>(s) * slot_bytes;
      float part[kGroupRows];
#pragma unroll
      for (int r = 0; r < kGroupRows; ++r) {
        part[r] = 0.0f;
        if (r >= n) continue;
#pragma unroll
        for (int j = 0; j < kMaxChunksPerWarp; ++j) {
          const int c = warp + j * kConsumerWarps;
          if (c >= chunks) continue;
          const uint4 w = *reinterpret_cast<const uint4*>(slot + (static_cast<size_t>(r) * op.cols + c * kChunk + lane * 8) * 2);
          const uint32_t wv[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
          for (int q = 0; q < 4; ++q) {
            const float2 f = decode_bf16x2(wv[q]);
            part[r] = fmaf(f.x, xr[j][2 * q], part[r]);
            part[r] = fmaf(f.y, xr[j][2 * q + 1], part[r]);
          }
        }
      }
      __syncwarp();
      if (lane == 0) mbar_arrive(&empty[s]);  // this warp is done reading the slot
#pragma unroll
      for (int r = 0; r < kGroupRows; ++r)
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) part[r] += __shfl_xor_sync(0xffffffffu, part[r], o);
      float* rb = red + buf * kConsumerWarps * kGroupRows;
      if (lane < kGroupRows) {
        float v = part[0];
#pragma unroll
        for (int r = 1; r < kGroupRows; ++r)
          if (lane == r) v = part[r];
        rb[warp * kGroupRows + lane] = v;
      }
      asm volatile("bar.sync %0, %1;" ::"n"(kConsumerBarrier), "n"(kConsumerWarps * 32) : "memory");
      if (warp == 0 && lane < n) {
        float sum = 0.0f;
        for (int w = 0; w < kConsumerWarps; ++w) sum += rb[w * kGroupRows + lane];
        op.y[g + lane] = sum;
      }
      buf ^= 1;  // the next group writes the other half while warp 0 may still read this one
    }
    // Every y row of this CTA's share is written (warp 0, before this barrier): publish op i.
    asm volatile("bar.sync %0, %1;" ::"n"(kConsumerBarrier), "n"(kConsumerWarps * 32) : "memory");
    // The release add orders every write the barrier saw before it (cumulativity): no separate fence
    // (one H200: a __threadfence before it cost 0.4 us an op, docs/benchmarks.md session 17).
    if (threadIdx.x == 0) add_release(&done[i], 1);
  }
}

}  // namespace

GemvChain::GemvChain(const std::vector<GemvChainOp>& ops) : n_ops_(static_cast<int>(ops.size())) {
  CUDA_REQUIRE(!ops.empty(), "gemv_chain: no ops");
  int max_cols = 0;
  for (const GemvChainOp& op : ops) {
    CUDA_REQUIRE(op.cols > 0 && op.cols % kChunk == 0 && op.cols <= kGemvChainMaxCols && op.rows > 0,
                 "gemv_chain: cols must be a positive multiple of 256 up to 6144, rows positive");
    CUDA_REQUIRE(reinterpret_cast<uintptr_t>(op.w) % 16 == 0 && reinterpret_cast<uintptr_t>(op.x) % 16 == 0,
                 "gemv_chain: weights and x must be 16-byte aligned");
    max_cols = std::max(max_cols, op.cols);
  }
  slot_bytes_ = static_cast<size_t>(kGroupRows) * max_cols * 2;
  ring_slots_ = static_cast<int>(std::min<size_t>(kMaxSlots, kRingBytes / slot_bytes_));
  ops_ = DeviceBuffer<GemvChainOp>(ops.size());
  ops_.upload(ops.data(), ops.size());
  done_ = DeviceBuffer<uint32_t>(ops.size());
  int dev = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  CUDA_CHECK(cudaDeviceGetAttribute(&grid_, cudaDevAttrMultiProcessorCount, dev));
  constexpr size_t kTail = 2 * kMaxSlots * sizeof(uint64_t) + 2 * kConsumerWarps * kGroupRows * sizeof(float);
  smem_ = ring_slots_ * slot_bytes_ + kTail;
  // The limit any chain's ring needs, not this one's: a chain made earlier with a larger ring still launches.
  CUDA_CHECK(cudaFuncSetAttribute(gemv_chain_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                  static_cast<int>(kRingBytes + kTail)));
}

void GemvChain::run(cudaStream_t stream) {
  CUDA_CHECK(cudaMemsetAsync(done_.get(), 0, done_.bytes(), stream));
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = dim3(grid_);
  cfg.blockDim = dim3(kThreads);
  cfg.dynamicSmemBytes = smem_;
  cfg.stream = stream;
  cudaLaunchAttribute attr{};
  attr.id = cudaLaunchAttributeCooperative;  // the CTAs wait for one another: all must be resident
  attr.val.cooperative = 1;
  cfg.attrs = &attr;
  cfg.numAttrs = 1;
  const GemvChainOp* ops = ops_.get();
  uint32_t* done = done_.get();
  CUDA_CHECK(cudaLaunchKernelEx(&cfg, gemv_chain_kernel, ops, n_ops_, done, ring_slots_, static_cast<unsigned>(slot_bytes_)));
  CUDA_CHECK_LAUNCH();
}

}  // namespace tachyon::cuda
