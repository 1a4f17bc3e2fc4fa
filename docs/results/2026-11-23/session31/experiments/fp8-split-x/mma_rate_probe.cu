// Probe (session 31): mma.sync throughput on this GPU, BF16 m16n8k16 against E4M3 m16n8k32, 8 independent
// accumulators a warp, 8 warps a CTA, 4 CTAs an SM. Prints the achieved dense TFLOP/s of each.
#include <cstdio>
#include <cstdint>
#include <cuda_runtime.h>
template <bool FP8>
__global__ void k(float* out, int iters, uint32_t seed) {
  uint32_t a[4] = {seed, seed * 3u, seed * 5u, seed * 7u}, b0 = seed * 11u, b1 = seed * 13u;
  float c[8][4] = {};
  for (int i = 0; i < iters; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      if constexpr (FP8)
        asm volatile("mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                     : "+f"(c[j][0]), "+f"(c[j][1]), "+f"(c[j][2]), "+f"(c[j][3]) : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
      else
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                     : "+f"(c[j][0]), "+f"(c[j][1]), "+f"(c[j][2]), "+f"(c[j][3]) : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
  float s = 0; for (int j = 0; j < 8; ++j) s += c[j][0] + c[j][1] + c[j][2] + c[j][3];
  if (s == 12345.f) out[threadIdx.x] = s;
}
template <bool FP8> double run(int sms) {
  float* o; cudaMalloc(&o, 4096); const int iters = 4096; cudaEvent_t e0, e1; cudaEventCreate(&e0); cudaEventCreate(&e1);
  k<FP8><<<sms * 4, 256>>>(o, iters, 1); cudaEventRecord(e0); k<FP8><<<sms * 4, 256>>>(o, iters, 1); cudaEventRecord(e1);
  cudaEventSynchronize(e1); float ms; cudaEventElapsedTime(&ms, e0, e1);
  const double flops = 2.0 * 16 * 8 * (FP8 ? 32 : 16) * 8.0 * iters * (sms * 4.0 * 8);
  printf("%s: %.3f ms, %.1f TFLOP/s, %.2f ns a warp-mma\n", FP8 ? "e4m3 m16n8k32" : "bf16 m16n8k16", ms, flops / ms / 1e9,
         ms * 1e6 / (8.0 * iters) );
  return ms;
}
int main() { int d = 0, sms; cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, d);
  const double b = run<false>(sms), f = run<true>(sms); printf("time ratio e4m3/bf16 per instruction: %.2f\n", f / b); }
