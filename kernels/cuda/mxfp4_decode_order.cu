// Puts uploaded MXFP4 data in decode order (mxfp4_decode_order.h), in place, one word a thread.
#include <cuda_runtime.h>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/mxfp4_decode_order.h"

namespace tachyon::cuda {

namespace {

__global__ void to_decode_order_kernel(uint32_t* words, size_t n) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x)
    words[i] = mxfp4_to_decode_order(words[i]);
}

}  // namespace

void put_mxfp4_in_decode_order(uint8_t* device_data, size_t bytes) {
  // Rows of packed nibbles are 16-byte multiples, so whole words cover the data exactly.
  CUDA_REQUIRE(bytes % 4 == 0 && aligned16(device_data), "mxfp4 data: whole, aligned words");
  if (!bytes) return;
  to_decode_order_kernel<<<2048, 256, 0, cudaStreamLegacy>>>(reinterpret_cast<uint32_t*>(device_data), bytes / 4);
  CUDA_CHECK_LAUNCH();
  finish_setup_copies();  // the step's streams are not ordered after the legacy stream
}

}  // namespace tachyon::cuda
