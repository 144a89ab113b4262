// wgmma for the sm90 kernel: shared-memory matrix descriptors for the
// 128-byte-swizzled layouts that TMA writes, and the fence / commit / wait
// around the asynchronous MMAs (inline PTX: CCCL has no wgmma wrapper).
//
// Layout of a tile in shared memory (what TMA with SWIZZLE_128B and a box of
// 64 elements x rows writes): column chunks of 64 elements, each chunk
// `rows` rows of 128 bytes, 16-byte units XOR-swizzled by (row % 8).
#pragma once
#include "sync.cuh"
#include "wgmma_ops.cuh"

namespace fa3jit_k::sm90 {

constexpr int kChunkCols = 64;  // 16-bit elements per 128-byte swizzle row

// Descriptor fields: start address, leading / stride byte offsets (all in
// 16-byte units), layout type 1 = 128-byte swizzle (bits 62-63). Built as
// two 32-bit words, so that a k step's descriptor is the tile's plus its
// offset in the low word's start-address field (one add: shared memory
// ends below the field's 256 KiB, so the add never carries out of it).
// Rebuilding each step's descriptor took ~10 uniform-datapath instructions
// per wgmma, issue slots that the softmax of the same warp needs.
struct SmemDesc {
  uint32_t lo, hi;
  // the descriptor of the operand `byte_offset` bytes into the tile
  __device__ __forceinline__ uint64_t at(uint32_t byte_offset) const {
    uint64_t d;
    asm("mov.b64 %0, {%1, %2};" : "=l"(d) : "r"(lo + (byte_offset >> 4)), "r"(hi));
    return d;
  }
};
__device__ __forceinline__ SmemDesc smem_desc(uint32_t addr, uint32_t lbo_bytes, uint32_t sbo_bytes) {
  return {((addr & 0x3FFFF) >> 4) | (((lbo_bytes >> 4) & 0x3FFF) << 16), ((sbo_bytes >> 4) & 0x3FFF) | (1u << 30)};
}

// K-major operand (rows x K, K contiguous): the k16 step `ks` of a tile
// with `rows` rows. 8-row groups are 1024 bytes apart; k steps move 32
// bytes inside a swizzle row, then to the next 64-column chunk.
__device__ __forceinline__ uint64_t desc_kmajor(uint32_t tile_addr, int rows, int ks) {
  return smem_desc(tile_addr, 16, 1024).at(uint32_t((ks / 4) * rows * 128 + (ks % 4) * 32));
}

// MN-major operand (K rows x N columns, N contiguous; V as the B of P V):
// k16 step `ks` starts 16 rows down; 64-column chunks are `rows * 128`
// bytes apart (leading offset), 8-row groups 1024 (stride offset).
__device__ __forceinline__ uint64_t desc_mnmajor(uint32_t tile_addr, int rows, int ks) {
  return smem_desc(tile_addr, uint32_t(rows * 128), 1024).at(uint32_t(ks * 16 * 128));
}

__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory"); }
template <int kPending>
__device__ __forceinline__ void wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;" ::"n"(kPending) : "memory");
}

// Keeps the compiler from moving register reads / writes of an accumulator
// across the asynchronous MMA that owns it.
template <int N>
__device__ __forceinline__ void fence_regs(float (&r)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+f"(r[i])::"memory");
}
template <int N>
__device__ __forceinline__ void fence_regs(uint32_t (&r)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+r"(r[i])::"memory");
}

}  // namespace fa3jit_k::sm90
