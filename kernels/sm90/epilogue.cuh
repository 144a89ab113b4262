// The 16-bit output of a consumer warp through shared memory: the warp's 16
// accumulator rows go into its own rows of the tile's Q buffer with
// stmatrix, then come back as 16-byte pieces that leave in whole 32-byte
// sectors (two lanes per row and store). Straight from the accumulators a
// row leaves in 4-byte pieces: 32 stores a thread for dv 128, each touching
// eight half-written sectors, and the store queue they fill held the
// warps (ncu, batch 32 x 512 tokens, d 128: 16% of the consumers' stall
// samples in the epilogue). The caller releases the Q buffer afterwards.
//
// Layout: row r (0..15) of the warp, 16-byte piece j (8 columns) at
//   base + (j / 8) * chunk_bytes + r * 128 + ((j % 8) ^ (r % 8)) * 16,
// the Q buffer's own 64-column chunks of 128-byte rows; the XOR spreads the
// eight rows that stmatrix (and each phase of the reads) touches over all
// 32 banks.
#pragma once
#include "../common/dtypes.cuh"
#include "sync.cuh"

namespace fa3jit_k::sm90 {

__device__ __forceinline__ uint32_t staged_piece(uint32_t base, int chunk_bytes, int r, int j) {
  return base + uint32_t((j / 8) * chunk_bytes + r * 128 + (((j % 8) ^ (r % 8)) * 16));
}

// Writes the warp's accumulator rows (wgmma layout: o[4c + {0,1}] row
// lane/4, o[4c + {2,3}] row lane/4 + 8, columns 8c + 2 (lane%4) + {0,1}),
// times the rows' output scales s0 / s1, as kDtype into the staging rows.
template <int kDtype, int kDV>
__device__ __forceinline__ void stage_o_rows(uint32_t base, int chunk_bytes, int lane, const float (&o)[kDV / 2],
                                             float s0, float s1) {
  static_assert(kDV % 16 == 0, "stmatrix x4 takes two 8-column blocks");
  // lane L addresses row L % 8 of matrix L / 8: matrices (rows 0-7 | 8-15) x (blocks c | c + 1)
  const int mi = lane / 8, r = lane % 8 + 8 * (mi & 1);
#pragma unroll
  for (int c = 0; c < kDV / 8; c += 2) {
    const uint32_t r0 = pack_half2<kDtype>(o[4 * c] * s0, o[4 * c + 1] * s0);
    const uint32_t r1 = pack_half2<kDtype>(o[4 * c + 2] * s1, o[4 * c + 3] * s1);
    const uint32_t r2 = pack_half2<kDtype>(o[4 * c + 4] * s0, o[4 * c + 5] * s0);
    const uint32_t r3 = pack_half2<kDtype>(o[4 * c + 6] * s1, o[4 * c + 7] * s1);
    asm volatile("stmatrix.sync.aligned.m8n8.x4.shared.b16 [%0], {%1, %2, %3, %4};" ::"r"(
                     staged_piece(base, chunk_bytes, r, c + (mi >> 1))),
                 "r"(r0), "r"(r1), "r"(r2), "r"(r3)
                 : "memory");
  }
}

// Copies the staged rows to global memory: lane L takes row L % 16 (at
// `row_dst`, 16-byte aligned; null: a row past the sequence, skipped) and
// the pieces 2k + L / 16, so each store writes 32 contiguous bytes of 16
// rows; columns from `dv` on (a multiple of 8) are not written.
template <int kDV>
__device__ __forceinline__ void copy_staged_rows(uint32_t base, int chunk_bytes, int lane, void* row_dst, int dv) {
  __syncwarp();  // every lane's stmatrix landed
  const int r = lane % 16;
#pragma unroll
  for (int k = 0; k < kDV / 16; ++k) {
    const int j = 2 * k + lane / 16;
    if (row_dst == nullptr || 8 * j >= dv) continue;
    uint4 v;
    asm volatile("ld.shared.v4.u32 {%0, %1, %2, %3}, [%4];"
                 : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
                 : "r"(staged_piece(base, chunk_bytes, r, j)));
    reinterpret_cast<uint4*>(row_dst)[j] = v;
  }
  __syncwarp();  // every lane read its pieces before the buffer is released
}

}  // namespace fa3jit_k::sm90
