// Paged K/V blocks that TMA cannot load (pages that are not whole 8-row
// swizzle patterns of the block: 1, 12, 100 keys, ...; paged_by_tma): the
// producer warp copies the block's rows with cp.async, 16 bytes a lane,
// into the layout a TMA box would give (128-byte rows of 64-column chunks,
// the 16-byte units of row r XOR-swizzled by r % 8). Keys past the sequence
// and columns past d are zero-filled. A lane's copies are waited for
// (cp.async groups), fenced for wgmma (async proxy) and then arrived on the
// block's full barrier by that thread (count 32 * kGatherWarps in this
// mode). 16-bit inputs.
#pragma once
#include "../common/seqinfo.cuh"
#include "paged_boxes.cuh"
#include "sync.cuh"
#include "tile_config.cuh"

namespace fa3jit_k::sm90 {

__device__ __forceinline__ void cp_async_16(uint32_t dst, const void* src, bool real) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(dst), "l"(src), "r"(real ? 16 : 0) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }
template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;" ::"n"(kPending) : "memory");
}

// Whether a kernel instance gathers its pages (fwd.cu sizes the full
// barriers by it, the producer takes the gather branch): paged 16-bit
// inputs on pages TMA cannot load.
template <int kBlockN, int kFlags, int kElemBytes>
__device__ __forceinline__ bool gathers_pages(const AttnParams& p) {
  return (kFlags & kFlagPaged) && kElemBytes == 2 && !paged_by_tma(p.page_size, kBlockN);
}

// The producer warpgroup's 4 warps gather (the bf16 kernel leaves warps 1-3
// idle otherwise): 128 arrivals on each full barrier.
constexpr int kGatherWarps = 4;

// Issues this thread's copies (gtid: 0..127 in the producer warpgroup) of
// the block whose first key is t0 (K, or V with kIsV) into dst, as one
// cp.async group. Warp w takes rows [w, w + 1) * kBlockN / 4: each lane
// reads one row's page id (one load latency for 32 rows), then lanes
// 8i..8i+7 copy the 8 units of a 128-byte chunk row together (coalesced),
// 4 rows at a time, the page id passed by a shuffle.
template <int kBlockN, int kChunks, bool kIsV>
__device__ __forceinline__ void gather_kv_block(uint8_t* dst, const AttnParams& p, const int* table_row, int hk,
                                                int t0, int seqlen_k, int gtid) {
  constexpr int kRows = kBlockN / kGatherWarps;  // per warp, a multiple of 4
  static_assert(kBlockN % (4 * kGatherWarps) == 0, "gathered blocks: whole 4-row groups per warp");
  const char* base = static_cast<const char*>(kIsV ? p.v : p.k);
  const int cols = kIsV ? p.dv : p.d;
  const int lane = gtid % 32, unit = lane % 8;
  const int row0 = (gtid / 32) * kRows;
  const uint32_t dst0 = smem_addr(dst);
#pragma unroll 1
  for (int slab = 0; slab < kRows; slab += 32) {
    int my_page = 0;  // page of row row0 + slab + lane (a key past the end: the last key's)
    if (slab + lane < kRows) my_page = table_row[imin(t0 + row0 + slab + lane, seqlen_k - 1) / p.page_size];
    const int n_rows = imin(32, kRows - slab);
#pragma unroll 1
    for (int i = 0; i < n_rows; i += 4) {
      const int page = __shfl_sync(0xffffffffu, my_page, i + lane / 8);
      const int r = row0 + slab + i + lane / 8;
      const int t = t0 + r;
      const bool real = t < seqlen_k;
      const int tt = real ? t : seqlen_k - 1;  // a valid address; nothing is read
      const int64_t row = kIsV ? paged_v_offset(p, page, tt % p.page_size, hk) : paged_k_offset(p, page, tt % p.page_size, hk);
      const char* src = base + 2 * row;
      const uint32_t dst_row = dst0 + r * 128 + ((unit ^ (r & 7)) << 4);
#pragma unroll 1  // the producer has 24 registers (d256: 4 chunks spill unrolled)
      for (int c = 0; c < kChunks; ++c) {
        const int col = c * 64 + unit * 8;
        cp_async_16(dst_row + c * kBlockN * 128, src + 2 * (real && col < cols ? col : 0), real && col < cols);
      }
    }
  }
  cp_async_commit();
}

// This lane's copies older than the newest kPending groups have landed:
// make them visible to wgmma and arrive on `full`.
template <int kPending>
__device__ __forceinline__ void gather_arrive(uint64_t* full) {
  cp_async_wait<kPending>();
  fence_async_smem();
  mbar_arrive(full);
}

}  // namespace fa3jit_k::sm90
