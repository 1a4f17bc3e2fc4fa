// Session 48 probe (not part of the build): does wgmma.m64n72k16 with A (BF16) from registers in mma.sync's A-fragment
// layout and B (BF16, K-major, no swizzle) from shared memory give A x B, and which descriptor offsets are which?
// Build: nvcc -gencode arch=compute_90a,code=sm_90a -std=c++17 -o wgmma_probe wgmma_probe.cu
#include <cuda_bf16.h>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <vector>

constexpr int M = 64, N = 72, K = 16;

__device__ uint64_t desc(const void* smem, uint32_t lbo, uint32_t sbo) {
  const uint32_t a = static_cast<uint32_t>(__cvta_generic_to_shared(smem));
  uint64_t d = 0;
  d |= static_cast<uint64_t>((a >> 4) & 0x3FFF);
  d |= static_cast<uint64_t>((lbo >> 4) & 0x3FFF) << 16;
  d |= static_cast<uint64_t>((sbo >> 4) & 0x3FFF) << 32;
  return d;  // base offset 0, layout type 0 (no swizzle)
}

// B element (k, n) of the K-major, no-swizzle layout: 8 x 16-byte core matrices (8 n rows of 8 k), lbo between the two
// core matrices along K, sbo between 8-row groups along N.
__host__ __device__ int b_offset(int k, int n, int lbo, int sbo) { return (n / 8) * sbo + (k / 8) * lbo + (n % 8) * 16 + (k % 8) * 2; }

__global__ void probe(const __nv_bfloat16* A, const __nv_bfloat16* B, float* D, int lbo, int sbo) {
  __shared__ __align__(128) uint8_t bs[4096];
  for (int i = threadIdx.x; i < K * N; i += blockDim.x) {
    const int k = i / N, n = i % N;
    *reinterpret_cast<__nv_bfloat16*>(bs + b_offset(k, n, lbo, sbo)) = B[k * N + n];
  }
  __syncthreads();
  asm volatile("fence.proxy.async.shared::cta;" ::: "memory");  // generic-proxy writes visible to the async proxy
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  auto pack = [&](int r, int k) {
    const __nv_bfloat162 v = __halves2bfloat162(A[r * K + k], A[r * K + k + 1]);
    return *reinterpret_cast<const uint32_t*>(&v);
  };
  const int r0 = 16 * warp + g;
  const uint32_t a0 = pack(r0, 2 * t), a1 = pack(r0 + 8, 2 * t), a2 = pack(r0, 2 * t + 8), a3 = pack(r0 + 8, 2 * t + 8);
  float d[36];
  for (int i = 0; i < 36; ++i) d[i] = 0.0f;
  const uint64_t db = desc(bs, lbo, sbo);
  asm volatile("wgmma.fence.sync.aligned;" ::: "memory");
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %41, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n72k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, "
      "%24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35}, {%36, %37, %38, %39}, %40, p, 1, 1, 0;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]),
        "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]),
        "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]),
        "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]),
        "+f"(d[33]), "+f"(d[34]), "+f"(d[35])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "l"(db), "r"(1));
  asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory");
  asm volatile("wgmma.wait_group.sync.aligned 0;" ::: "memory");
  // Accumulator 4 j + i: n-tile j, row g + 8 (i / 2), column 8 j + 2 t + i % 2 (mma.sync's C layout per n-tile).
  for (int j = 0; j < N / 8; ++j)
    for (int i = 0; i < 4; ++i) D[(r0 + 8 * (i / 2)) * N + 8 * j + 2 * t + i % 2] = d[4 * j + i];
}

int main() {
  std::vector<__nv_bfloat16> a(M * K), b(K * N);
  std::vector<float> af(M * K), bf(K * N);
  srand(7);
  for (int i = 0; i < M * K; ++i) { a[i] = __float2bfloat16((rand() % 17 - 8) / 8.0f); af[i] = __bfloat162float(a[i]); }
  for (int i = 0; i < K * N; ++i) { b[i] = __float2bfloat16((rand() % 13 - 6) / 4.0f); bf[i] = __bfloat162float(b[i]); }
  __nv_bfloat16 *da, *db;
  float* dd;
  cudaMalloc(&da, a.size() * 2);
  cudaMalloc(&db, b.size() * 2);
  cudaMalloc(&dd, M * N * 4);
  cudaMemcpy(da, a.data(), a.size() * 2, cudaMemcpyHostToDevice);
  cudaMemcpy(db, b.data(), b.size() * 2, cudaMemcpyHostToDevice);
  struct Try { int lbo, sbo; const char* what; };
  const Try tries[] = {{128, 256, "lbo = K step (128 B), sbo = 8-row N step (256 B)"},
                       {256, 128, "the two swapped"},
                       {N / 8 * 128, 128, "K halves apart (1152 B), 8-row N groups 128 B apart"}};
  for (const Try& tr : tries) {
    cudaMemset(dd, 0, M * N * 4);
    probe<<<1, 128>>>(da, db, dd, tr.lbo, tr.sbo);
    const cudaError_t e = cudaDeviceSynchronize();
    std::vector<float> d(M * N);
    cudaMemcpy(d.data(), dd, d.size() * 4, cudaMemcpyDeviceToHost);
    int bad = 0;
    double worst = 0;
    for (int m = 0; m < M; ++m)
      for (int n = 0; n < N; ++n) {
        double ref = 0;
        for (int k = 0; k < K; ++k) ref += static_cast<double>(af[m * K + k]) * bf[k * N + n];
        const double err = std::fabs(ref - d[m * N + n]);
        worst = std::fmax(worst, err);
        bad += err > 1e-4;
      }
    std::printf("lbo %4d sbo %4d (%s): %s, %d of %d outputs wrong, worst error %.3g\n", tr.lbo, tr.sbo, tr.what,
                cudaGetErrorString(e), bad, M * N, worst);
  }
  return 0;
}
