// peer_all_reduce_add_rmsnorm (kernels/cuda/peer_reduce.h): the all-reduce of the step's partial sums over
// the node's GPUs through mapped peer buffers, fused with the residual add and the RMSNorm.
#include <cooperative_groups.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cuda/cp_async.cuh"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/peer_reduce.h"
#include "kernels/cuda/row_ops.cuh"
#include "kernels/cuda/wait_timeout.cuh"

namespace tachyon::cuda {

namespace {

__device__ __forceinline__ void store_release_sys(uint32_t* p, uint32_t v) {
  asm volatile("st.release.sys.global.u32 [%0], %1;" ::"l"(p), "r"(v) : "memory");
}
__device__ __forceinline__ uint32_t load_acquire_sys(const uint32_t* p) {
  uint32_t v;
  asm volatile("ld.acquire.sys.global.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
  return v;
}

static_assert(PeerReduce::kMaxSlots == kMaxSlotRows, "one bound on the slot rows");

__global__ void peer_add_rmsnorm_kernel(const PeerReduce p, const float* partial, float* x, const float* w, int rows,
                                        int dim, float eps, float* y) {
  float4 g[kRowVec];
  load_row_weight(w, dim, blockDim.x, g);  // a weight: before the wait
  pdl_enter();  // launch.cuh: partial is the kernel before's output
  __shared__ float scratch[32];
  __shared__ uint32_t s_epoch;
  const int b = blockIdx.x, d4 = dim / 4;
  if (threadIdx.x == 0) {
    s_epoch = p.epoch[b] + 1;
    p.epoch[b] = s_epoch;
  }
  __syncthreads();
  const uint32_t epoch = s_epoch;
  const size_t slot = static_cast<size_t>(epoch & 1u) * p.max_rows * static_cast<size_t>(p.dim);

  // This CTA's rows of this rank's partial sums into its buffer.
  float4* mine = reinterpret_cast<float4*>(p.buf[p.rank] + slot);
  const float4* part4 = reinterpret_cast<const float4*>(partial);
  for (int r = b; r < rows; r += gridDim.x)
    for (int i = threadIdx.x; i < d4; i += blockDim.x) mine[static_cast<size_t>(r) * d4 + i] = part4[static_cast<size_t>(r) * d4 + i];
  __syncthreads();
  // Arrive at every rank's CTA b (after the rows: fence, then a release store), then wait for every rank.
  if (threadIdx.x < p.ranks) {
    __threadfence_system();
    store_release_sys(p.flags[threadIdx.x] + b * PeerReduce::kMaxRanks + p.rank, epoch);
    const uint32_t* flag = p.flags[p.rank] + b * PeerReduce::kMaxRanks + threadIdx.x;
    const unsigned long long t0 = globaltimer_ns();
    while (static_cast<int32_t>(load_acquire_sys(flag) - epoch) < 0) trap_after_timeout(t0);
  }
  __syncthreads();

  // delta = the ranks' rows summed in rank order; x += delta; y = rmsnorm(x) * w.
  for (int r = b; r < rows; r += gridDim.x) {
    const size_t row4 = static_cast<size_t>(r) * d4;
    float4 v[kRowVec];
    const float s = load_row(v, d4, blockDim.x, [&](int i) {
      float4 d = __ldcv(reinterpret_cast<const float4*>(p.buf[0] + slot) + row4 + i);
      for (int k = 1; k < p.ranks; ++k) {
        const float4 o = __ldcv(reinterpret_cast<const float4*>(p.buf[k] + slot) + row4 + i);
        d.x += o.x, d.y += o.y, d.z += o.z, d.w += o.w;
      }
      float4 xv = reinterpret_cast<const float4*>(x)[row4 + i];
      xv.x += d.x, xv.y += d.y, xv.z += d.z, xv.w += d.w;
      reinterpret_cast<float4*>(x)[row4 + i] = xv;
      return xv;
    });
    store_normed_row(v, s, dim, blockDim.x, eps, g, y + static_cast<size_t>(r) * dim, scratch);
  }
}

__device__ __forceinline__ void store_volatile_v4(uint4* p, uint4 v) {
  asm volatile("st.volatile.global.v4.u32 [%0], {%1, %2, %3, %4};" ::"l"(p), "r"(v.x), "r"(v.y), "r"(v.z), "r"(v.w)
               : "memory");
}
__device__ __forceinline__ uint4 load_volatile_v4(const uint4* p) {
  uint4 v;
  asm volatile("ld.volatile.global.v4.u32 {%0, %1, %2, %3}, [%4];" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p)
               : "memory");
  return v;
}

constexpr int kPushCtas = PeerReduce::kPushCtas;

size_t push_smem_bytes(int threads) { return sizeof(float4) * kRowVec * threads; }

// The push (peer_reduce.h): cluster r of kPushCtas CTAs reduces row r; CTA c of it, the row's c-th share of
// column pairs, one a thread.
__global__ void peer_push_add_rmsnorm_kernel(const PeerReduce p, const float* partial, int k, float* x, const float* w,
                                             int dim, float eps, float* y) {
  namespace cg = cooperative_groups;
  // The norm's weights (before the wait: a weight), into shared memory in load_row_weight's layout; held in
  // registers across the wait for the other ranks they would cost the launch its second CTA an SM (then
  // 16 rows' clusters no longer all fit at once: peer_push_max_rows).
  extern __shared__ float4 s_weight[];  // [kRowVec][blockDim.x]
  const int d4 = dim / 4;
#pragma unroll
  for (int j = 0; j < kRowVec; ++j) {
    const int i = threadIdx.x + j * blockDim.x;
    if (i < d4) cp_async16(s_weight + j * blockDim.x + threadIdx.x, reinterpret_cast<const float4*>(w) + i, 16);
  }
  cp_async_commit();
  pdl_enter();  // launch.cuh: partial is the kernel before's output
  // CTA b always takes the same columns of the same row (b / kPushCtas), so its launches can be counted by
  // itself: every rank's CTA b counts the same (the same calls), and a slot's readers are CTA b too. Read
  // after the wait: the previous launch may be the kernel just before.
  const uint32_t epoch = __ldcg(p.push_epoch + blockIdx.x) + 1;
  __shared__ float scratch[32];
  cg::cluster_group cluster = cg::this_cluster();
  const int c = static_cast<int>(cluster.block_rank()), r = blockIdx.x / kPushCtas;
  const int pairs = dim / 2, l = c * pairs / kPushCtas + static_cast<int>(threadIdx.x);
  const bool has_pair = l < (c + 1) * pairs / kPushCtas;
  const size_t sender_lines = static_cast<size_t>(p.push_rows) * pairs;
  const size_t at = static_cast<size_t>(epoch & 1u) * p.ranks * sender_lines + static_cast<size_t>(r) * pairs + l;

  if (has_pair) {
    // x's pair is loaded with the partial's, not after the other ranks' lines have arrived: an L2 round trip
    // off the chain between the last arrival and the norm (nothing in this launch writes it before the add).
    float2* x2 = reinterpret_cast<float2*>(x) + static_cast<size_t>(r) * pairs + l;
    const float2 x_old = *x2;
    // Send this thread's pair to every rank (itself included), as sender p.rank.
    // This rank's partial pair: the row's own, or the sum of its k slot rows (row_ops.cuh: moe_combine's bits).
    const float2 v = k == 0 ? reinterpret_cast<const float2*>(partial)[static_cast<size_t>(r) * pairs + l]
                            : slot_sum<float2>(partial, k, r, pairs, l);
    const uint4 line = make_uint4(__float_as_uint(v.x), epoch, __float_as_uint(v.y), epoch);
    for (int j = 0; j < p.ranks; ++j) store_volatile_v4(p.lines[j] + at + p.rank * sender_lines, line);

    // Receive every rank's pair (all loads in flight at once, again only for those not yet arrived), sum
    // them in rank order, x += the sum.
    uint4 got[PeerReduce::kMaxRanks];
    unsigned pending = (1u << p.ranks) - 1;
    const unsigned long long t0 = globaltimer_ns();
    while (pending) {
#pragma unroll
      for (int k = 0; k < PeerReduce::kMaxRanks; ++k)
        if (pending >> k & 1u) got[k] = load_volatile_v4(p.lines[p.rank] + at + k * sender_lines);
#pragma unroll
      for (int k = 0; k < PeerReduce::kMaxRanks; ++k)
        if ((pending >> k & 1u) && got[k].y == epoch && got[k].w == epoch) pending &= ~(1u << k);
      if (pending) trap_after_timeout(t0);
    }
    float2 d = make_float2(__uint_as_float(got[0].x), __uint_as_float(got[0].z));
#pragma unroll
    for (int k = 1; k < PeerReduce::kMaxRanks; ++k)
      if (k < p.ranks) d.x += __uint_as_float(got[k].x), d.y += __uint_as_float(got[k].z);
    *x2 = make_float2(x_old.x + d.x, x_old.y + d.y);
  }
  cluster.sync();  // every CTA's columns of x are written (release / acquire at cluster scope)

  // y = rmsnorm(x) * w: each CTA norms the whole row in add_rmsnorm's order (from the L2: other SMs wrote
  // it) and writes its share of it.
  cp_async_wait<0>();  // this thread's weights (it reads back only its own slots)
  float4 g[kRowVec];
#pragma unroll
  for (int j = 0; j < kRowVec; ++j)
    g[j] = threadIdx.x + j * blockDim.x < d4 ? s_weight[j * blockDim.x + threadIdx.x] : make_float4(0.f, 0.f, 0.f, 0.f);
  const float4* x4 = reinterpret_cast<const float4*>(x) + static_cast<size_t>(r) * d4;
  float4 v[kRowVec];
  const float s = load_row(v, d4, blockDim.x, [&](int i) { return __ldcg(x4 + i); });
  store_normed_row(v, s, dim, blockDim.x, eps, g, y + static_cast<size_t>(r) * dim, scratch, c * d4 / kPushCtas,
                   (c + 1) * d4 / kPushCtas);

  if (threadIdx.x == 0) p.push_epoch[blockIdx.x] = epoch;  // every thread read it before block_sum's barriers
}

}  // namespace

int peer_push_max_rows(int dim) {
  if (dim <= 0 || dim % 4 != 0 || dim > kRowBlockMaxDim) return 0;
  cudaFuncAttributes attr{};
  CUDA_CHECK(cudaFuncGetAttributes(&attr, peer_push_add_rmsnorm_kernel));
  const int threads = row_block_threads(dim);
  if (threads > attr.maxThreadsPerBlock) return 0;
  // The weights' shared memory may pass the 48 KB a launch gets without asking (more than 768 threads):
  // allow the most any width needs, so that buffers of several widths in one process all launch.
  CUDA_CHECK(cudaFuncSetAttribute(peer_push_add_rmsnorm_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                  static_cast<int>(push_smem_bytes(kRowMaxThreads))));
  cudaLaunchConfig_t cfg;
  cudaLaunchAttribute attrs[2];
  launch_config({dim3(PeerReduce::kPushMaxRows * kPushCtas), dim3(threads), push_smem_bytes(threads),
                 static_cast<unsigned>(kPushCtas)},
                nullptr, cfg, attrs);
  int clusters = 0;
  CUDA_CHECK(cudaOccupancyMaxActiveClusters(&clusters, peer_push_add_rmsnorm_kernel, &cfg));
  return std::min(clusters, PeerReduce::kPushMaxRows);
}

bool peer_reduce_fits(const PeerReduce& p, int rows, int dim) {
  return p.ranks >= 2 && p.ranks <= PeerReduce::kMaxRanks && dim == p.dim && dim % 4 == 0 &&
         dim <= kRowBlockMaxDim && rows <= p.max_rows;
}

void peer_all_reduce_add_rmsnorm(const PeerReduce& p, const float* partial, float* x, const float* w, int rows, int dim,
                                 float eps, float* y, cudaStream_t stream, int k) {
  CUDA_REQUIRE(peer_reduce_fits(p, rows, dim), "peer_all_reduce_add_rmsnorm: shape outside the peer buffers");
  CUDA_REQUIRE(k == 0 || (k <= PeerReduce::kMaxSlots && rows <= p.push_rows),
               "peer_all_reduce_add_rmsnorm: slot rows (at most 8) only in steps that push");
  if (rows == 0) return;
  if (rows <= p.push_rows) {
    const int threads = row_block_threads(dim);
    launch(peer_push_add_rmsnorm_kernel,
           {dim3(rows * kPushCtas), dim3(threads), push_smem_bytes(threads), static_cast<unsigned>(kPushCtas)}, stream, p,
           partial, k, x, w, dim, eps, y);
    CUDA_CHECK_LAUNCH();
    return;
  }
  launch(peer_add_rmsnorm_kernel, {dim3(std::min(rows, PeerReduce::kBlocks)), dim3(row_block_threads(dim))}, stream, p,
         partial, x, w, rows, dim, eps, y);
  CUDA_CHECK_LAUNCH();
}

}  // namespace tachyon::cuda
