// Device-side decoding of the stored weight formats into FP32, by bit manipulation in registers (no
// lookup tables: an indexed table lands in local memory and costs most of the bandwidth).
//
// MXFP4: an E2M1 code s.e1e0.m placed as s -> bit 31, e1e0 -> exponent bits 24..23, m -> mantissa
// bit 22 is an FP32 whose value is exactly code_value * 2^-126 (e1e0 = 0 lands in the subnormal range,
// which gives 0.5 * m * 2^-126, as it should). So a block of 32 decodes with shifts and masks, and the
// 2^126 folds into the block's scale: factor = 2^(b - 127) * 2^126 = 2^(b - 1) (NaN for b = 0xFF).
// Kernels using this must not flush FP32 subnormals to zero (no --use_fast_math / -ftz=true).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace tachyon::cuda {

__device__ __forceinline__ float e2m1_scaled(uint32_t nibble) {
  return __int_as_float(static_cast<int>(((nibble & 8u) << 28) | ((nibble & 7u) << 22)));
}

// Eight E2M1 values of one 32-bit word (element 2j in the low nibble of byte j), times 2^-126.
__device__ __forceinline__ void decode_e2m1x8(uint32_t w, float out[8]) {
#pragma unroll
  for (int i = 0; i < 8; ++i) out[i] = e2m1_scaled(w >> (4 * i));
}

// The factor that turns decode_e2m1x8's values into real ones for E8M0 scale byte b.
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
__device__ __forceinline__ void decode_e4m3x4_bf16_scaled(uint32_t w, uint32_t& lo, uint32_t& hi) {
  const uint32_t a = __byte_perm(w, 0u, 0x1404u);  // bytes [0, e0, 0, e1]
  const uint32_t b = __byte_perm(w, 0u, 0x3424u);  // bytes [0, e2, 0, e3]
  lo = (a & 0x80008000u) | ((a & 0x7f007f00u) >> 4);
  hi = (b & 0x80008000u) | ((b & 0x7f007f00u) >> 4);
}

}  // namespace tachyon::cuda
