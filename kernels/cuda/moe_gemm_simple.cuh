// The FP32 expert GEMM: every stored format (FP8 with offset block scales and F32 included) and any
// shape, decoding one weight element at a time and accumulating in FP32. The path for formats and
// shapes the tensor-core kernel does not take; correct rather than fast (one warp per (active expert,
// output row), lanes along K, up to 8 of the expert's tokens per pass). Persistent grid over a
// device-side item count, so it is as graph-safe as the fast path.
#pragma once

#include <cuda_fp8.h>

#include <cstdint>

#include "kernels/cuda/dequant.cuh"
#include "kernels/cuda/moe_gemm_params.cuh"
#include "model/fp8.h"
#include "kernels/cuda/launch.cuh"

namespace tachyon::cuda::moe_detail {

__device__ __forceinline__ float weight_element(const DeviceMatrix& m, int r, int c) {
  const uint8_t* row = m.data + static_cast<size_t>(r) * m.data_row_stride;
  switch (m.format) {
    case WeightFormat::F32: return reinterpret_cast<const float*>(row)[c];
    case WeightFormat::BF16:
      return __uint_as_float(static_cast<uint32_t>(reinterpret_cast<const uint16_t*>(row)[c]) << 16);
    case WeightFormat::FP8: {
      const float* srow =
          reinterpret_cast<const float*>(m.scales + static_cast<size_t>((r + m.scale_row0) / kFp8BlockSize) * m.scale_row_stride);
      const __half_raw h = __nv_cvt_fp8_to_halfraw(static_cast<__nv_fp8_storage_t>(row[c]), __NV_E4M3);
      return __half2float(*reinterpret_cast<const __half*>(&h)) * srow[(c + m.scale_col0) / kFp8BlockSize];
    }
    case WeightFormat::MXFP4: {
      const float v = mxfp4_row_element_scaled(row, c);
      return v * mxfp4_block_factor(m.scales[static_cast<size_t>(r) * m.scale_row_stride + c / 32]);
    }
  }
  return 0.0f;
}

__device__ __forceinline__ float warp_sum_f(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

template <Proj P>
__global__ void __launch_bounds__(256) moe_simple_kernel(const MoeGemmParams p) {
  pdl_enter();  // launch.cuh: before any global memory access
  constexpr int kTok = 8;
  if constexpr (P == Proj::Down) zero_nonlocal_rows(p);
  const int lane = threadIdx.x % 32, rows = p.rows, K = p.K;
  const int64_t items = static_cast<int64_t>(*p.active_count) * rows;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * blockDim.x / 32;
  for (int64_t it = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / 32; it < items; it += warps) {
    const int a = static_cast<int>(it / rows), r = static_cast<int>(it % rows);
    const int e = p.active_experts[a];
    const int st = p.offsets[e], cnt = p.offsets[e + 1] - st;
    const DeviceMatrix m0 = p.w0.expert(e), m1 = p.w1.expert(e);
    for (int c0 = 0; c0 < cnt; c0 += kTok) {
      const int nn = min(kTok, cnt - c0);
      int pr[kTok];
      const float* src[kTok];
#pragma unroll
      for (int j = 0; j < kTok; ++j) {
        pr[j] = p.pair_index[st + c0 + min(j, nn - 1)];
        src[j] = p.in + static_cast<size_t>(pr[j] / p.in_row_div) * K;
      }
      float g[kTok], u[kTok];
#pragma unroll
      for (int j = 0; j < kTok; ++j) g[j] = u[j] = 0.0f;
      for (int k = lane; k < K; k += 32) {
        const float w0 = weight_element(m0, r, k);
        const float w1 = P == Proj::GateUp ? weight_element(m1, r, k) : 0.0f;
#pragma unroll
        for (int j = 0; j < kTok; ++j) {
          if (j < nn) {
            const float x = src[j][k];
            g[j] += w0 * x;
            if constexpr (P == Proj::GateUp) u[j] += w1 * x;
          }
        }
      }
#pragma unroll
      for (int j = 0; j < kTok; ++j) {
        g[j] = warp_sum_f(g[j]);
        if constexpr (P == Proj::GateUp) u[j] = warp_sum_f(u[j]);
        if (lane == j && j < nn) {
          const float w = P == Proj::Down && p.pair_weight ? p.pair_weight[pr[j]] : 1.0f;
          p.out[static_cast<size_t>(pr[j]) * rows + r] = epilogue_value<P>(p, e, r, g[j], u[j], w);
        }
      }
    }
  }
}

}  // namespace tachyon::cuda::moe_detail
