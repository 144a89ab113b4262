// Warp-level GEMMs of the sm80 forward kernel on mma.sync m16n8k16.
// A warp owns kMT m16 row tiles. Fragment layouts (g = lane / 4, t = lane % 4):
//   C/accumulator of an n8 tile: {(g, 2t), (g, 2t+1), (g+8, 2t), (g+8, 2t+1)}
//   A (16x16): {rows g / g+8} x {cols 2t.. / 2t+8..} as 4 packed pairs
// The C fragments of two adjacent n8 tiles of S are exactly the A fragment
// of P for one k16 step of P.V, so P never leaves registers.
#pragma once
#include "../common/dtypes.cuh"
#include "mma.cuh"
#include "tile_config.cuh"

namespace fa3jit_k::sm80 {

// Shared-memory operands are 32-bit shared-window byte addresses: each
// ldmatrix address is then one base register plus an immediate (generic
// pointers cost 64-bit arithmetic and registers per address).

// acc[mi][nt] += A (rows at sA, kDim wide) * B^T, B = kNT * 8 rows at sB
// (both row-major in smem with stride smem_stride(kDim)). S = Q K^T and
// S += QV V^T.
template <int kMma, int kDim, int kMT, int kNT>
__device__ __forceinline__ void gemm_abt(uint32_t sA, uint32_t sB, float (&acc)[kMT][kNT][4], int lane) {
  constexpr int kS = smem_stride(kDim);
  static_assert(kDim % 16 == 0 && kNT % 2 == 0, "gemm_abt: tile must be a multiple of 16");
  const uint32_t a_lane = sA + 2 * ((lane % 16) * kS + (lane / 16) * 8);
  const uint32_t b_lane = sB + 2 * (((lane / 16) * 8 + lane % 8) * kS + ((lane / 8) % 2) * 8);
#pragma unroll
  for (int kk = 0; kk < kDim / 16; ++kk) {
    uint32_t a[kMT][4];
#pragma unroll
    for (int mi = 0; mi < kMT; ++mi)
      ldmatrix_x4(a_lane + 2 * (mi * 16 * kS + kk * 16), a[mi][0], a[mi][1], a[mi][2], a[mi][3]);
#pragma unroll
    for (int nj = 0; nj < kNT / 2; ++nj) {
      uint32_t b0, b1, b2, b3;
      ldmatrix_x4(b_lane + 2 * (nj * 16 * kS + kk * 16), b0, b1, b2, b3);
#pragma unroll
      for (int mi = 0; mi < kMT; ++mi) {
        mma_16816<kMma>(acc[mi][2 * nj], a[mi], b0, b1);
        mma_16816<kMma>(acc[mi][2 * nj + 1], a[mi], b2, b3);
      }
    }
  }
}

// o[mi][vt] += P (A fragments, kKT k16 steps of keys) * V (kKT*16 rows at sV,
// kDV wide, row-major; read transposed by ldmatrix.trans).
template <int kMma, int kDV, int kMT, int kKT>
__device__ __forceinline__ void gemm_pv(const uint32_t (&pa)[kMT][kKT][4], uint32_t sV, float (&o)[kMT][kDV / 8][4],
                                        int lane) {
  constexpr int kS = smem_stride(kDV);
  static_assert(kDV % 16 == 0, "gemm_pv: dv tile must be a multiple of 16");
  const uint32_t v_lane = sV + 2 * ((((lane / 8) % 2) * 8 + lane % 8) * kS + (lane / 16) * 8);
#pragma unroll
  for (int kk = 0; kk < kKT; ++kk) {
#pragma unroll
    for (int nj = 0; nj < kDV / 16; ++nj) {
      uint32_t b0, b1, b2, b3;
      ldmatrix_x4_trans(v_lane + 2 * (kk * 16 * kS + nj * 16), b0, b1, b2, b3);
#pragma unroll
      for (int mi = 0; mi < kMT; ++mi) {
        mma_16816<kMma>(o[mi][2 * nj], pa[mi][kk], b0, b1);
        mma_16816<kMma>(o[mi][2 * nj + 1], pa[mi][kk], b2, b3);
      }
    }
  }
}

}  // namespace fa3jit_k::sm80
