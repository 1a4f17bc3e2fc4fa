// Device-side decoding of the stored weight formats into FP32, by bit manipulation in registers (no
// lookup tables: an indexed table lands in local memory and costs most of the bandwidth).
//
// MXFP4 words on the GPU are in decode order (mxfp4_decode_order.h): each pair of E2M1 codes decodes
// with one to four instructions into a BF16 pair (sign -> bit 15, e1e0 -> exponent bits 8..7, m ->
// mantissa bit 6) whose values are exactly code_value * 2^-126 (e1e0 = 0 lands in the subnormal range,
// which gives 0.5 * m * 2^-126, as it should). The 2^126 folds into the block's scale:
// factor = 2^(b - 127) * 2^126 = 2^(b - 1) (NaN for b = 0xFF). Kernels using this must not flush
// subnormals to zero (no --use_fast_math / -ftz=true).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda/mxfp4_decode_order.h"

namespace tachyon::cuda {

// Pair `pair` (0..3) of a decode-order MXFP4 word (mxfp4_pair_bf16x2_scaled<P>): a compile-time constant
// after unrolling in the tensor-core kernels, a run-time one in the element-wise readers.
__device__ __forceinline__ uint32_t mxfp4_pair_scaled(uint32_t w, int pair) {
  switch (pair) {
    case 0: return mxfp4_pair_bf16x2_scaled<0>(w);
    case 1: return mxfp4_pair_bf16x2_scaled<1>(w);
    case 2: return mxfp4_pair_bf16x2_scaled<2>(w);
    default: return mxfp4_pair_bf16x2_scaled<3>(w);
  }
}

// Element i (0..7) of a decode-order MXFP4 word as FP32, exactly code_value * 2^-126: the element-wise
// readers' (fallback kernels') decoder. i need not be a compile-time constant.
__device__ __forceinline__ float mxfp4_element_scaled(uint32_t w, int i) {
  const uint32_t pair = mxfp4_pair_scaled(w, i & 3);
  return __uint_as_float(i < 4 ? pair << 16 : pair & 0xffff0000u);
}

// Element c of an MXFP4 row (16-byte aligned, decode order) as FP32 times 2^-126.
__device__ __forceinline__ float mxfp4_row_element_scaled(const uint8_t* row, int c) {
  return mxfp4_element_scaled(reinterpret_cast<const uint32_t*>(row)[c / 8], c % 8);
}

// The factor that turns mxfp4_element_scaled's values into real ones for E8M0 scale byte b.
__device__ __forceinline__ float mxfp4_block_factor(uint8_t b) {
  if (b == 0xFF) return __int_as_float(0x7fc00000);  // NaN block
  // 2^(b-1): b = 0 gives 2^-1; every b <= 0xFE is a normal FP32.
  return __int_as_float(static_cast<int>((static_cast<uint32_t>(b) + 126u) << 23));
}

__device__ __forceinline__ float2 decode_bf16x2(uint32_t w) {
  return make_float2(__int_as_float(static_cast<int>(w << 16)), __int_as_float(static_cast<int>(w & 0xffff0000u)));
}

// Four E4M3 codes of one 32-bit word (byte i = element i) with the hardware converter.
__device__ __forceinline__ float4 decode_e4m3x4(uint32_t w) {
  const __half2_raw lo = __nv_cvt_fp8x2_to_halfraw2(static_cast<__nv_fp8x2_storage_t>(w & 0xffffu), __NV_E4M3);
  const __half2_raw hi = __nv_cvt_fp8x2_to_halfraw2(static_cast<__nv_fp8x2_storage_t>(w >> 16), __NV_E4M3);
  const float2 a = __half22float2(*reinterpret_cast<const __half2*>(&lo));
  const float2 b = __half22float2(*reinterpret_cast<const __half2*>(&hi));
  return make_float4(a.x, a.y, b.x, b.y);
}

}  // namespace tachyon::cuda

// ---- appended for the dense linear kernel (kernels/cuda/linear.cu) ----

namespace tachyon::cuda {

// Four E4M3 codes of one 32-bit word as two BF16 pairs, each value exactly e4m3 * 2^-120: the E4M3
// exponent and mantissa bits are moved into the low exponent / high mantissa bits of a BF16 (the
// E4M3 bias 7 against BF16's 127 is the 2^-120; E4M3 subnormals land on BF16 subnormals with the
// same digits, so they are exact too). The caller folds 2^120 into the block scale. `lo` holds
// elements 0 (low half) and 1, `hi` elements 2 and 3. E4M3 NaN codes decode to a finite 480 * 2^-120:
// the quantizers never produce them.
//
// Three instructions a pair: prmt's sign-replicating selectors (selector bit 3: every bit of the output byte is the
// source byte's bit 7) put each code in the low byte of its half with copies of its sign above, [s..s | s eeee mmm];
// shifted left by 4 that half holds s at bit 15, eeee at bits 10..7 and mmm at 6..4, and the mask keeps exactly those
// (bits 14..11 hold sign copies; the high half's bits 3..0, what the low half shifted into it). Nsight Compute
// (docs/benchmarks.md, session 33) had counted four a pair for the masks-then-shift form, 64 of the ~150 instructions of
// a 9-row FP8 linear's chunk; one H200 (session 40), against that form in one call: the FP8 rows at 8-72 tokens
// 1.01-1.17x, the step 1.02-1.03x at 1 x 9.
__device__ __forceinline__ uint32_t prmt_sign_replicating(uint32_t w, uint32_t selector) {
  uint32_t d;
  asm("prmt.b32 %0, %1, 0, %2;" : "=r"(d) : "r"(w), "r"(selector));
  return d;
}
__device__ __forceinline__ void decode_e4m3x4_bf16_scaled(uint32_t w, uint32_t& lo, uint32_t& hi) {
  lo = (prmt_sign_replicating(w, 0x9180u) << 4) & 0x87f087f0u;  // halves from codes 0 and 1
  hi = (prmt_sign_replicating(w, 0xb3a2u) << 4) & 0x87f087f0u;  // codes 2 and 3
}

}  // namespace tachyon::cuda

// ---- appended for the MoE expert GEMM (kernels/cuda/moe_gemm_mma.cuh): MXFP4 BF16 pairs' scales ----

namespace tachyon::cuda {

// Multiplies two BF16 pairs (round to nearest; BF16 subnormals are kept by mul.bf16x2).
__device__ __forceinline__ uint32_t bf16x2_mul(uint32_t a, uint32_t b) {
  uint32_t d;
  asm("mul.rn.bf16x2 %0, %1, %2;" : "=r"(d) : "r"(a), "r"(b));
  return d;
}

// The factor(s) that turn mxfp4_pair_bf16x2_scaled's values into real ones for E8M0 byte b, replicated
// in both halves. `first` is 2^(b-1) for b <= 128 (one multiply suffices); for b > 128 it is 2^126 and
// `second` is 2^(b-127) (NaN for b = 0xFF), to be applied after it. Both products are exact.
struct Bf16x2Factors {
  uint32_t first, second;
  bool two;  // b > 128: apply `second` too
};
__device__ __forceinline__ Bf16x2Factors mxfp4_bf16x2_factors(uint32_t b) {
  Bf16x2Factors f;
  f.two = b > 128u;
  const uint32_t h1 = f.two ? 0x7E80u : (b + 126u) << 7;               // 2^126 or 2^(b-1)
  const uint32_t h2 = b == 0xFFu ? 0x7FC0u : (f.two ? b << 7 : 0x3F80u);  // 2^(b-127), NaN, or 1
  f.first = h1 * 0x10001u;
  f.second = h2 * 0x10001u;
  return f;
}

}  // namespace tachyon::cuda
