// TMA (bulk tensor copies) for the sm90 kernel: a 4-D tiled tensor map per
// operand, built on the host with cuTensorMapEncodeTiled (dims: head dim,
// heads, rows, batch-or-page) and passed by value as a __grid_constant__
// kernel parameter. Loads complete on an mbarrier.
#pragma once
#include "sync.cuh"

namespace fa3jit_k::sm90 {

// The driver's CUtensorMap (opaque, 128 bytes, 64-byte aligned) without cuda.h.
struct alignas(64) TmaDesc {
  uint64_t opaque[16];
};

__device__ __forceinline__ void tma_prefetch_desc(const TmaDesc* desc) {
  asm volatile("prefetch.tensormap [%0];" ::"l"(desc) : "memory");
}

// Copies the box at coordinates (c0, c1, c2, c3) into dst (shared memory,
// 1024-byte aligned for the 128-byte swizzle); completes on `bar`.
__device__ __forceinline__ void tma_load_4d(void* dst, const TmaDesc* desc, int c0, int c1, int c2, int c3,
                                           uint64_t* bar) {
  const int32_t coords[4] = {c0, c1, c2, c3};
  cuda::ptx::cp_async_bulk_tensor(cuda::ptx::space_shared, cuda::ptx::space_global, dst, desc, coords, bar);
}

}  // namespace fa3jit_k::sm90
