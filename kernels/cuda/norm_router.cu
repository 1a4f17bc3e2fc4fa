// add_rmsnorm_router (norm_router.h). One CTA per kRouterRows router rows (experts); each CTA norms every
// row of the step itself, from the L2, in the block norms' layout and order (row_ops.cuh), so that its h has
// add_rmsnorm's bits wherever add_rmsnorm takes its block norm (dim >= 512), and dots it with its router
// rows, whose weights it loads into registers before it waits for the kernel before (launch.cuh). CTA 0
// writes h.
#include <cuda_bf16.h>

#include <cstdint>
#include <type_traits>

#include "kernels/cuda/batch_invariant.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/dequant.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/norm_router.h"
#include "kernels/cuda/row_ops.cuh"

namespace tachyon::cuda {

namespace {

constexpr int kRouterRows = 4;  // Qwen3-30B-A3B's 128 experts: 32 CTAs
constexpr int kMaxThreads = 256;  // the row's layout (row_ops.cuh) of up to kNormRouterMaxElements floats
constexpr size_t kMaxSmem = 48 * 1024;  // the default dynamic shared memory (no opt-in attribute)

struct NormRouterArgs {
  const float* delta;
  const float* x;
  const float* w;
  int rows, dim;
  float eps;
  DeviceMatrix router;
  const float* bias;
  float* h;
  float* logits;
};

// Four consecutive router weights of a row as stored (BF16: 8 bytes, held as such until used: half the
// registers), and as FP32.
template <WeightFormat F>
using Router4 = std::conditional_t<F == WeightFormat::F32, float4, uint2>;

template <WeightFormat F>
__device__ __forceinline__ Router4<F> load_router4(const DeviceMatrix& r, int row, int i) {
  return reinterpret_cast<const Router4<F>*>(r.data + static_cast<size_t>(row) * r.data_row_stride)[i];
}

__device__ __forceinline__ float4 as_float4(float4 v) { return v; }
__device__ __forceinline__ float4 as_float4(uint2 u) {
  const float2 a = decode_bf16x2(u.x), b = decode_bf16x2(u.y);
  return make_float4(a.x, a.y, b.x, b.y);
}

template <WeightFormat F>
__global__ void __launch_bounds__(kMaxThreads) add_rmsnorm_router_kernel(const NormRouterArgs a) {
  const int T = blockDim.x, d4 = a.dim / 4, tid = threadIdx.x, lane = tid % 32, warp = tid / 32, W = T / 32;
  const int E = a.router.rows, r0 = blockIdx.x * kRouterRows;
  // Before the wait: the norm weight and this CTA's router rows, in the row layout (zeros past the row).
  float4 g[kRowVec];
  load_row_weight(a.w, a.dim, T, g);
  Router4<F> wr[kRouterRows][kRowVec];
#pragma unroll
  for (int r = 0; r < kRouterRows; ++r)
#pragma unroll
    for (int j = 0; j < kRowVec; ++j) {
      const int i = tid + j * T;
      wr[r][j] = r0 + r < E && i < d4 ? load_router4<F>(a.router, r0 + r, i) : Router4<F>{};
    }
  pdl_enter();
  extern __shared__ float4 rows[];                                  // [rows][d4]: x + delta
  float* squares = reinterpret_cast<float*>(rows + a.rows * d4);    // [rows][W]: the warps' sums of squares
  float* dots = squares + a.rows * W;                               // [rows][kRouterRows][W]: the warps' dots

  // x + delta, every load of the step's rows in flight at once.
  const int n4 = a.rows * d4;
#pragma unroll 8
  for (int q = tid; q < n4; q += T) {
    float4 r = reinterpret_cast<const float4*>(a.x)[q];
    const float4 d = reinterpret_cast<const float4*>(a.delta)[q];
    r.x += d.x, r.y += d.y, r.z += d.z, r.w += d.w;
    rows[q] = r;
  }
  __syncthreads();
  // Each row's sum of squares as the block norms take it: this thread's float4s in row order, its warp's
  // sum, then (below) the warps' sums in warp order.
  for (int t = 0; t < a.rows; ++t) {
    float4 v[kRowVec];
    const float s = load_row(v, d4, T, [&](int i) { return rows[t * d4 + i]; });
    const float ws = warp_sum(s);
    if (lane == 0) squares[t * W + warp] = ws;
  }
  __syncthreads();
  for (int t = 0; t < a.rows; ++t) {
    float total = 0.0f;
    for (int k = 0; k < W; ++k) total += squares[t * W + k];
    const float inv = rsqrtf(total / a.dim + a.eps);
    float dot[kRouterRows] = {};
#pragma unroll
    for (int j = 0; j < kRowVec; ++j) {
      const int i = tid + j * T;
      if (i >= d4) continue;
      const float4 v = rows[t * d4 + i];
      const float4 h = make_float4(v.x * inv * g[j].x, v.y * inv * g[j].y, v.z * inv * g[j].z, v.w * inv * g[j].w);
      if (blockIdx.x == 0) reinterpret_cast<float4*>(a.h + static_cast<size_t>(t) * a.dim)[i] = h;
#pragma unroll
      for (int r = 0; r < kRouterRows; ++r) {
        const float4 wf = as_float4(wr[r][j]);
        dot[r] += h.x * wf.x + h.y * wf.y + h.z * wf.z + h.w * wf.w;
      }
    }
#pragma unroll
    for (int r = 0; r < kRouterRows; ++r) {
      const float ws = warp_sum(dot[r]);
      if (lane == 0) dots[(t * kRouterRows + r) * W + warp] = ws;
    }
  }
  __syncthreads();
  for (int q = tid; q < a.rows * kRouterRows; q += T) {
    const int t = q / kRouterRows, e = r0 + q % kRouterRows;
    if (e >= E) continue;
    float sum = 0.0f;
    for (int k = 0; k < W; ++k) sum += dots[q * W + k];
    if (a.bias) sum += a.bias[e];
    a.logits[static_cast<size_t>(t) * E + e] = sum;
  }
}

size_t smem_bytes(int rows, int dim) {
  const size_t warps = row_block_threads(dim) / 32;
  return (static_cast<size_t>(rows) * dim + rows * warps * (1 + kRouterRows)) * sizeof(float);
}

}  // namespace

bool add_rmsnorm_router_fits(int rows, int dim, const DeviceMatrix& router, const float* delta, const float* x,
                             const float* w, const float* h) {
  // Not under batch invariance (batch_invariant.h): its logits sum in another order than the router's linear, and
  // only steps of a token or two take it.
  if (batch_invariant()) return false;
  if (rows < 1 || rows > kNormRouterMaxRows || dim < 4 || dim % 4 != 0 || rows * dim > kNormRouterMaxElements) return false;
  // The launch's own limits (kNormRouterMaxElements keeps within them today).
  if (row_block_threads(dim) > kMaxThreads || smem_bytes(rows, dim) > kMaxSmem) return false;
  if (router.cols != dim || router.rows < 1) return false;
  if (!aligned16(delta) || !aligned16(x) || !aligned16(w) || !aligned16(h)) return false;
  const size_t piece = router.format == WeightFormat::F32 ? 16 : 8;  // four weights
  if (router.format != WeightFormat::F32 && router.format != WeightFormat::BF16) return false;
  return reinterpret_cast<uintptr_t>(router.data) % piece == 0 && router.data_row_stride % piece == 0;
}

void add_rmsnorm_router(const float* delta, const float* x, const float* w, int rows, int dim, float eps,
                        const DeviceMatrix& router, const float* bias, float* h, float* logits, cudaStream_t stream) {
  CUDA_REQUIRE(add_rmsnorm_router_fits(rows, dim, router, delta, x, w, h),
               "add_rmsnorm_router: shapes or formats that add_rmsnorm_router_fits does not allow");
  const NormRouterArgs a{delta, x, w, rows, dim, eps, router, bias, h, logits};
  const dim3 grid(static_cast<unsigned>((router.rows + kRouterRows - 1) / kRouterRows));
  const dim3 block(static_cast<unsigned>(row_block_threads(dim)));
  const LaunchShape shape{grid, block, smem_bytes(rows, dim)};  // at most kMaxSmem (fits)
  if (router.format == WeightFormat::F32) launch(add_rmsnorm_router_kernel<WeightFormat::F32>, shape, stream, a);
  else launch(add_rmsnorm_router_kernel<WeightFormat::BF16>, shape, stream, a);
  CUDA_CHECK_LAUNCH();
}

}  // namespace tachyon::cuda
