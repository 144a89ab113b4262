// Paged K/V blocks that TMA cannot load (pages that are not whole 8-row
// swizzle patterns of the block: 1, 12, 100 keys, ...; paged_by_tma): the
// producer warp copies the block's rows with cp.async, 16 bytes a lane,
// into the layout a TMA box would give (128-byte rows of 64-column chunks,
// the 16-byte units of row r XOR-swizzled by r % 8). Keys past the sequence
// and columns past d are zero-filled. A lane's copies are waited for
// (cp.async groups), fenced for wgmma (async proxy) and then arrived on the
// block's full barrier by that lane (count 32 in this mode). 16-bit inputs.
#pragma once
#include "../common/seqinfo.cuh"
#include "sync.cuh"

namespace fa3jit_k::sm90 {

__device__ __forceinline__ void cp_async_16(uint32_t dst, const void* src, bool real) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(dst), "l"(src), "r"(real ? 16 : 0) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }
template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;" ::"n"(kPending) : "memory");
}

// Issues this lane's copies of the block whose first key is t0 (K, or V
// with kIsV) into dst, as one cp.async group. Lanes 8i..8i+7 copy the 8
// units of a 128-byte chunk row together (coalesced); rows step by 4.
template <int kBlockN, int kChunks, bool kIsV>
__device__ __forceinline__ void gather_kv_block(uint8_t* dst, const AttnParams& p, const int* table_row, int hk,
                                                int t0, int seqlen_k, int lane) {
  const char* base = static_cast<const char*>(kIsV ? p.v : p.k);
  const int cols = kIsV ? p.dv : p.d;
  const int unit = lane % 8;
  const uint32_t dst0 = smem_addr(dst);
#pragma unroll 1
  for (int r = lane / 8; r < kBlockN; r += 4) {
    const int t = t0 + r;
    const bool real = t < seqlen_k;
    const int tt = real ? t : seqlen_k - 1;  // a valid address; nothing is read
    const int page = table_row[tt / p.page_size];
    const int64_t row = kIsV ? paged_v_offset(p, page, tt % p.page_size, hk) : paged_k_offset(p, page, tt % p.page_size, hk);
    const char* src = base + 2 * row;
    const uint32_t dst_row = dst0 + r * 128 + ((unit ^ (r & 7)) << 4);
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      const int col = c * 64 + unit * 8;
      cp_async_16(dst_row + c * kBlockN * 128, src + 2 * (real && col < cols ? col : 0), real && col < cols);
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
