// The weight kernels' one streaming load: 16 bytes read once (no L1 allocation), with a hint that the L2
// fetch 256 bytes, since the following loads of the same thread's row read the rest of them.
#pragma once

#include <cstdint>

namespace tachyon::cuda {

// volatile: the load stays where it is written, so that kernels can issue their first weight loads before
// pdl_enter() (launch.cuh: weights were written long before the launch).
__device__ __forceinline__ void ldg_stream16(const uint8_t* p, uint32_t (&v)[4]) {
  asm volatile("ld.global.nc.L1::no_allocate.L2::256B.v4.u32 {%0, %1, %2, %3}, [%4];"
               : "=r"(v[0]), "=r"(v[1]), "=r"(v[2]), "=r"(v[3])
               : "l"(p));
}

}  // namespace tachyon::cuda
