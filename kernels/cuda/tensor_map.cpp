// Tensor maps through the driver's cuTensorMapEncodeTiled, reached by the runtime's entry-point query so that
// the project links only the CUDA runtime.
#include "kernels/cuda/tensor_map.h"

#include <cuda_runtime.h>
#include <cudaTypedefs.h>

#include "kernels/cuda/cuda_check.h"

namespace tachyon::cuda {

namespace {

PFN_cuTensorMapEncodeTiled_v12000 encode_tiled() {
  static const PFN_cuTensorMapEncodeTiled_v12000 fn = [] {
    void* f = nullptr;
    cudaDriverEntryPointQueryResult found{};
    CUDA_CHECK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &f, 12000, cudaEnableDefault, &found));
    CUDA_REQUIRE(found == cudaDriverEntryPointSuccess && f != nullptr, "the driver has no cuTensorMapEncodeTiled");
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(f);
  }();
  return fn;
}

}  // namespace

CUtensorMap mxfp4_expert_rows_map(const DeviceExperts& w, int K, int box_words, int box_rows) {
  const DeviceMatrix& m = w.first;
  CUDA_REQUIRE(m.format == WeightFormat::MXFP4 && K % 32 == 0 && m.data_row_stride == static_cast<size_t>(K) / 2,
               "mxfp4_expert_rows_map: MXFP4 rows of K / 2 bytes");
  CUDA_REQUIRE(box_words >= 4 && box_words <= 256 && box_words % 4 == 0 && box_rows >= 1 && box_rows <= 256,
               "mxfp4_expert_rows_map: boxes of 4-256 words (16-byte multiples) x 1-256 rows");
  const cuuint64_t dims[3] = {static_cast<cuuint64_t>(K) / 8, static_cast<cuuint64_t>(m.rows),
                              static_cast<cuuint64_t>(w.experts)};
  const cuuint64_t strides[2] = {static_cast<cuuint64_t>(m.data_row_stride),
                                 static_cast<cuuint64_t>(w.experts > 1 ? w.expert_data_stride : m.rows * m.data_row_stride)};
  const cuuint32_t box[3] = {static_cast<cuuint32_t>(box_words), static_cast<cuuint32_t>(box_rows), 1};
  const cuuint32_t element_strides[3] = {1, 1, 1};
  CUtensorMap map;
  const CUresult r = encode_tiled()(&map, CU_TENSOR_MAP_DATA_TYPE_UINT32, 3, const_cast<uint8_t*>(m.data), dims, strides,
                                    box, element_strides, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_NONE,
                                    CU_TENSOR_MAP_L2_PROMOTION_L2_128B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  CUDA_REQUIRE(r == CUDA_SUCCESS, "mxfp4_expert_rows_map: cuTensorMapEncodeTiled failed");
  return map;
}

}  // namespace tachyon::cuda
