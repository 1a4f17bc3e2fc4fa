#include "kernels/cuda/random_fill.h"

#include <cuda_bf16.h>
#include <cuda_fp8.h>

#include <algorithm>
#include <cmath>

#include "kernels/cuda/bench_random.cuh"
#include "kernels/cuda/cuda_check.h"

namespace tachyon::cuda {

namespace {

constexpr float kSqrt3 = 1.7320508f;
constexpr float kE2M1Rms = 2.9261749f;  // sqrt(mean of the squares of 0, .5, 1, 1.5, 2, 3, 4, 6)
constexpr int kBlocks = 2048, kThreads = 256;

__device__ __forceinline__ float uniform_pm1(size_t i, uint32_t seed) {
  return static_cast<float>(bench_hash32(i, seed) >> 8) * 0x1p-23f - 1.0f;
}

#define GRID_STRIDE(i, n) \
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < (n); i += static_cast<size_t>(gridDim.x) * blockDim.x)

__global__ void fill_f32(float* p, size_t n, float mean, float half_width, uint32_t seed) {
  GRID_STRIDE(i, n) p[i] = mean + half_width * uniform_pm1(i, seed);
}

__global__ void fill_bf16(__nv_bfloat16* p, size_t n, float mean, float half_width, uint32_t seed) {
  GRID_STRIDE(i, n) p[i] = __float2bfloat16_rn(mean + half_width * uniform_pm1(i, seed));
}

__global__ void fill_e4m3(uint8_t* p, size_t n, uint32_t seed) {
  GRID_STRIDE(i, n) p[i] = __nv_cvt_float_to_fp8(448.0f * uniform_pm1(i, seed), __NV_SATFINITE, __NV_E4M3);
}

__global__ void fill_words(uint32_t* p, size_t words, uint32_t seed) {
  GRID_STRIDE(i, words) p[i] = bench_hash32(i, seed);
}

__global__ void fill_bytes(uint8_t* p, size_t n, uint8_t value) {
  GRID_STRIDE(i, n) p[i] = value;
}

}  // namespace

uint8_t mxfp4_random_scale_byte(float stddev) {
  const int e = static_cast<int>(std::lround(std::log2(stddev / kE2M1Rms)));
  return static_cast<uint8_t>(std::clamp(127 + e, 1, 254));
}

void fill_random_weight(WeightFormat format, uint8_t* data, size_t data_bytes, uint8_t* scales, size_t scale_bytes,
                        float mean, float stddev, uint32_t seed, cudaStream_t s) {
  const float half_width = stddev * kSqrt3;
  switch (format) {
    case WeightFormat::F32:
      if (data_bytes) fill_f32<<<kBlocks, kThreads, 0, s>>>(reinterpret_cast<float*>(data), data_bytes / 4, mean, half_width, seed);
      break;
    case WeightFormat::BF16:
      if (data_bytes)
        fill_bf16<<<kBlocks, kThreads, 0, s>>>(reinterpret_cast<__nv_bfloat16*>(data), data_bytes / 2, mean, half_width, seed);
      break;
    case WeightFormat::FP8:
      if (data_bytes) fill_e4m3<<<kBlocks, kThreads, 0, s>>>(data, data_bytes, seed);
      if (scale_bytes)
        fill_f32<<<kBlocks, kThreads, 0, s>>>(reinterpret_cast<float*>(scales), scale_bytes / 4, half_width / 448.0f, 0.0f, seed);
      break;
    case WeightFormat::MXFP4:
      // Rows of packed nibbles are 16-byte multiples, so whole 32-bit words cover the data exactly.
      if (data_bytes) fill_words<<<kBlocks, kThreads, 0, s>>>(reinterpret_cast<uint32_t*>(data), data_bytes / 4, seed);
      if (scale_bytes) fill_bytes<<<kBlocks, kThreads, 0, s>>>(scales, scale_bytes, mxfp4_random_scale_byte(stddev));
      break;
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace tachyon::cuda
