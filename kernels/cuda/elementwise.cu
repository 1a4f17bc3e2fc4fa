// Small ops of the step (see elementwise.h). Each is one launch over rows, FP32 in and out.
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/dequant.cuh"
#include "kernels/cuda/elementwise.h"
#include "model/fp8.h"

namespace tachyon::cuda {

namespace {

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// One warp per row: rows are short (hidden <= 16k, head_dim 64-256) and there are few of them.
__global__ void rmsnorm_kernel(const float* x, const float* w, int rows, int dim, float eps, float* y) {
  const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;
  const float* xr = x + static_cast<size_t>(row) * dim;
  float s = 0.0f;
  for (int i = lane; i < dim; i += 32) s += xr[i] * xr[i];
  s = warp_sum(s);
  const float inv = rsqrtf(s / dim + eps);
  float* yr = y + static_cast<size_t>(row) * dim;
  for (int i = lane; i < dim; i += 32) yr[i] = xr[i] * inv * w[i];
}

__global__ void rope_kernel(float* x, int rows, int heads, int head_dim, int rotary_dim, const int32_t* positions,
                            const float* inv_freq, float af) {
  const int half = rotary_dim / 2;
  const int64_t total = static_cast<int64_t>(rows) * heads * half;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int d = static_cast<int>(i % half);
    const int64_t rh = i / half;  // row * heads + head
    const int row = static_cast<int>(rh / heads);
    // FP32 angle as the references form it, then an accurate sincos of it.
    const float angle = static_cast<float>(positions[row]) * inv_freq[d];
    double s, c;
    sincos(static_cast<double>(angle), &s, &c);
    const float cs = static_cast<float>(c) * af, sn = static_cast<float>(s) * af;
    float* v = x + rh * head_dim;
    const float a = v[d], b = v[d + half];
    v[d] = a * cs - b * sn;
    v[d + half] = b * cs + a * sn;
  }
}

__device__ float load_element(const DeviceMatrix& m, int r, int c) {
  const uint8_t* row = m.data + static_cast<size_t>(r) * m.data_row_stride;
  switch (m.format) {
    case WeightFormat::F32: return reinterpret_cast<const float*>(row)[c];
    case WeightFormat::BF16: return __int_as_float(static_cast<int>(reinterpret_cast<const uint16_t*>(row)[c]) << 16);
    case WeightFormat::FP8: {
      const float* srow = reinterpret_cast<const float*>(m.scales + ((r + m.scale_row0) / kFp8BlockSize) * m.scale_row_stride);
      const __half_raw h = __nv_cvt_fp8_to_halfraw(static_cast<__nv_fp8_storage_t>(row[c]), __NV_E4M3);
      return __half2float(*reinterpret_cast<const __half*>(&h)) * srow[(c + m.scale_col0) / kFp8BlockSize];
    }
    case WeightFormat::MXFP4: {
      const uint8_t byte = row[c / 2];
      const float v = e2m1_scaled(c % 2 ? byte >> 4 : byte & 0xf);
      return v * mxfp4_block_factor(m.scales[static_cast<size_t>(r) * m.scale_row_stride + c / 32]);
    }
  }
  return 0.0f;
}

__global__ void embed_kernel(const int32_t* ids, int n, DeviceMatrix table, int vocab_begin, float* out) {
  const int i = blockIdx.x;
  if (i >= n) return;
  const int local = ids[i] - vocab_begin;
  const bool mine = local >= 0 && local < table.rows;
  for (int c = threadIdx.x; c < table.cols; c += blockDim.x)
    out[static_cast<size_t>(i) * table.cols + c] = mine ? load_element(table, local, c) : 0.0f;
}

__global__ void add_kernel(const float* x, float* y, size_t n, float scale) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<size_t>(gridDim.x) * blockDim.x)
    y[i] += x[i] * scale;
}

__global__ void scale_kernel(float* x, size_t n, float s) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<size_t>(gridDim.x) * blockDim.x)
    x[i] *= s;
}

__global__ void swiglu_kernel(const float* gate, const float* up, size_t n, cpu::SwigluParams p, float* out) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    float g = gate[i], u = up[i];
    if (p.kind == SwigluKind::Standard) {
      out[i] = g / (1.0f + expf(-g)) * u;
    } else {
      g = fminf(g, p.limit);
      u = fminf(fmaxf(u, -p.limit), p.limit);
      out[i] = (u + 1.0f) * (g / (1.0f + expf(-p.alpha * g)));
    }
  }
}

__global__ void gather_rows_kernel(const float* src, const int32_t* rows, int width, float* dst) {
  const float* s = src + static_cast<size_t>(rows[blockIdx.x]) * width;
  float* d = dst + static_cast<size_t>(blockIdx.x) * width;
  for (int c = threadIdx.x; c < width; c += blockDim.x) d[c] = s[c];
}

__global__ void row_argmax_kernel(const float* logits, int v, int vocab_begin, ArgmaxCandidate* out) {
  const float* row = logits + static_cast<size_t>(blockIdx.x) * v;
  float best = -INFINITY;
  int idx = INT32_MAX;
  for (int i = threadIdx.x; i < v; i += blockDim.x)
    if (row[i] > best) { best = row[i]; idx = i; }  // strided: the first (lowest) index per thread wins ties
  __shared__ float sv[32];
  __shared__ int si[32];
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, best, o);
    const int oi = __shfl_xor_sync(0xffffffffu, idx, o);
    if (ov > best || (ov == best && oi < idx)) { best = ov; idx = oi; }
  }
  if (threadIdx.x % 32 == 0) { sv[threadIdx.x / 32] = best; si[threadIdx.x / 32] = idx; }
  __syncthreads();
  if (threadIdx.x < 32) {
    best = threadIdx.x < blockDim.x / 32 ? sv[threadIdx.x] : -INFINITY;
    idx = threadIdx.x < blockDim.x / 32 ? si[threadIdx.x] : INT32_MAX;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
      const float ov = __shfl_xor_sync(0xffffffffu, best, o);
      const int oi = __shfl_xor_sync(0xffffffffu, idx, o);
      if (ov > best || (ov == best && oi < idx)) { best = ov; idx = oi; }
    }
    if (threadIdx.x == 0) out[blockIdx.x] = ArgmaxCandidate{best, idx == INT32_MAX ? INT32_MAX : idx + vocab_begin};
  }
}

int grid_for(int64_t work, int threads) { return static_cast<int>(std::min<int64_t>((work + threads - 1) / threads, 65535)); }

}  // namespace

void rmsnorm(const float* x, const float* w, int rows, int dim, float eps, float* y, cudaStream_t stream) {
  if (rows == 0) return;
  constexpr int kWarps = 8;
  rmsnorm_kernel<<<(rows + kWarps - 1) / kWarps, kWarps * 32, 0, stream>>>(x, w, rows, dim, eps, y);
  CUDA_CHECK_LAUNCH();
}

void rope(float* x, int rows, int heads, int head_dim, int rotary_dim, const int32_t* positions, const float* inv_freq,
          float attention_factor, cudaStream_t stream) {
  const int64_t work = static_cast<int64_t>(rows) * heads * (rotary_dim / 2);
  if (work == 0) return;
  rope_kernel<<<grid_for(work, 256), 256, 0, stream>>>(x, rows, heads, head_dim, rotary_dim, positions, inv_freq,
                                                       attention_factor);
  CUDA_CHECK_LAUNCH();
}

void embed(const int32_t* ids, int n, const DeviceMatrix& table, int vocab_begin, float* out, cudaStream_t stream) {
  if (n == 0) return;
  embed_kernel<<<n, 256, 0, stream>>>(ids, n, table, vocab_begin, out);
  CUDA_CHECK_LAUNCH();
}

void add(const float* x, float* y, size_t n, float scale, cudaStream_t stream) {
  if (n == 0) return;
  add_kernel<<<grid_for(static_cast<int64_t>(n), 256), 256, 0, stream>>>(x, y, n, scale);
  CUDA_CHECK_LAUNCH();
}

void scale(float* x, size_t n, float s, cudaStream_t stream) {
  if (n == 0) return;
  scale_kernel<<<grid_for(static_cast<int64_t>(n), 256), 256, 0, stream>>>(x, n, s);
  CUDA_CHECK_LAUNCH();
}

void swiglu(const float* gate, const float* up, size_t n, const cpu::SwigluParams& p, float* out, cudaStream_t stream) {
  if (n == 0) return;
  swiglu_kernel<<<grid_for(static_cast<int64_t>(n), 256), 256, 0, stream>>>(gate, up, n, p, out);
  CUDA_CHECK_LAUNCH();
}

void gather_rows(const float* src, const int32_t* rows, int n, int width, float* dst, cudaStream_t stream) {
  if (n == 0) return;
  gather_rows_kernel<<<n, 256, 0, stream>>>(src, rows, width, dst);
  CUDA_CHECK_LAUNCH();
}

void row_argmax(const float* logits, int n, int v, int vocab_begin, ArgmaxCandidate* out, cudaStream_t stream) {
  if (n == 0) return;
  row_argmax_kernel<<<n, 256, 0, stream>>>(logits, v, vocab_begin, out);
  CUDA_CHECK_LAUNCH();
}

}  // namespace tachyon::cuda
