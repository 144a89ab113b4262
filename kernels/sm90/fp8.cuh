// fp8 e4m3 pieces of the sm90 kernel (the kInDtype == kFP8E4M3 variant):
// V transposed in shared memory by the producer warpgroup, and P packed
// into the A registers of the 8-bit O += P V.
//
// wgmma's 8-bit operands are K-major only. For O += P V the reduction runs
// over keys, so B must be V^T (dv rows, keys contiguous); V arrives by TMA
// row-major (keys x dv). The thread of an m64nNk32 A fragment holds 4
// consecutive k per register (rows g / g + 8, k = 4 t4 .. 4 t4 + 3 and
// 16 + 4 t4 ..), while S's accumulators give it keys 2 t4, 2 t4 + 1, 8 + 2 t4,
// 9 + 2 t4, ... . Instead of shuffling P between threads, V^T stores the keys
// of each 32-key chunk permuted so that P's own register order is right: the
// logical k = 16 h + 4 t + 2 q + e holds key 16 h + 8 q + 2 t + e (the sum
// over keys does not care about their order, only that P and V agree).
#pragma once
#include "sync.cuh"

namespace fa3jit_k::sm90 {

// Four floats to four e4m3 bytes (a in the low byte), saturating to +-448.
__device__ __forceinline__ uint32_t pack_e4m3x4(float a, float b, float c, float d) {
  uint32_t r;
  asm("{\n.reg .b16 lo, hi;\n"
      "cvt.rn.satfinite.e4m3x2.f32 lo, %2, %1;\n"
      "cvt.rn.satfinite.e4m3x2.f32 hi, %4, %3;\n"
      "mov.b32 %0, {lo, hi};\n}"
      : "=r"(r)
      : "f"(a), "f"(b), "f"(c), "f"(d));
  return r;
}

// P (fp32, S's accumulator layout: s[16 kk + 4 j + 2 hf + e] is row g + 8 hf,
// key 32 kk + 8 j + 2 t4 + e) as the A registers of the k32 step kk:
// register 0 / 1 = rows g / g + 8, keys (2 t4, 2 t4 + 1, 8 + 2 t4, 9 + 2 t4);
// 2 / 3 the same 16 keys further on; V^T's key order matches (above).
template <int kNS>
__device__ __forceinline__ void pack_p_e4m3(const float (&s)[kNS], uint32_t (&pa)[kNS / 16][4]) {
#pragma unroll
  for (int kk = 0; kk < kNS / 16; ++kk)
#pragma unroll
    for (int r = 0; r < 4; ++r) {
      const int i = 16 * kk + 8 * (r / 2) + 2 * (r % 2);
      pa[kk][r] = pack_e4m3x4(s[i], s[i + 1], s[i + 4], s[i + 5]);
    }
}

__device__ __forceinline__ uint32_t byte_perm(uint32_t a, uint32_t b, uint32_t sel) {
  uint32_t r;
  asm("prmt.b32 %0, %1, %2, %3;" : "=r"(r) : "r"(a), "r"(b), "r"(sel));
  return r;
}

// Transposes one V block from the staging buffer at shared address `vs`
// (TMA layout: 128-byte swizzled rows of dv bytes, in 128-column chunks of
// kBlockN rows) into `vt` (V^T: per 128-key chunk, kDV rows of 128 keys,
// 128-byte swizzle, keys permuted as above; a last chunk of 64 keys fills
// half of its rows). Keys >= `valid` become 0 (past the sequence end the
// buffer may hold a neighbour's data or, from a page, NaN bit patterns; P is
// 0 there, but 0 * NaN is NaN). Run by kTransposeWarps warps (`tid` < 96);
// the caller fences and signals.
//
// A unit is 16 keys (group G of its 128-key chunk) x 32 columns, moved by
// one warp with one ldmatrix.trans.x4, four prmt and one stmatrix.x4 (the
// 4-byte loads, prmt and stores of a byte transpose by hand took ~5x the
// instructions, and the consumers waited for V^T: ncu, fp8 d128 4k).
// ldmatrix.trans of the b16 matrices (keys 16 G + {0..7 | 8..15}) x (16
// columns) gives lane 4 c + t the bytes (key 2 t, cols 2 c, 2 c + 1), (key
// 2 t + 1, same cols): two of them, 8 keys apart, hold column 2 c (and
// 2 c + 1) at keys 2 t, 2 t + 1, 8 + 2 t, 9 + 2 t, which is V^T's logical
// key order 4 t .. 4 t + 3 of the group (above). stmatrix puts lane 4 c + t's
// register i at row c of matrix i, bytes 4 t: matrix rows are V^T rows (the
// columns), 16 bytes each at the group's swizzled slot G ^ (row % 8). The
// lanes c >= 4 hand their odd column first, so that each matrix's 8 rows
// have distinct row % 8 and its stores cover all 32 banks.
constexpr int kTransposeWarps = 3;  // warps 1-3 of the producer warpgroup
constexpr int kNoMoreBlocks = -0x7fffffff - 1;  // a staging buffer's key count after the last block

template <int kDV, int kBlockN, bool kZeroTail>
__device__ __forceinline__ void transpose_units(uint32_t vs, uint32_t vt, int valid, int tid) {
  constexpr int kColUnits = kDV / 32, kGroups = kBlockN / 16;
  const int warp = tid / 32, lane = tid % 32, c = lane / 4, t = lane % 4;
  // ldmatrix: lane L addresses row L % 8 of matrix L / 8 (keys + 8 (mi & 1), columns + 16 (mi >> 1))
  const int mi = lane / 8, key_in = lane % 8 + 8 * (mi & 1), col_in = 16 * (mi >> 1);
  // stmatrix: lane L addresses row L % 8 (= c') of matrix L / 8: V^T row
  // 2 c' (+1 for odd matrices of c' < 4, even ones of c' >= 4) + 16 (mi >> 1)
  const int cr = lane % 8, row_out = 2 * cr + ((mi & 1) ^ (cr >= 4 ? 1 : 0)) + 16 * (mi >> 1);
  const uint32_t sel_a = c < 4 ? 0x6420u : 0x7531u, sel_b = sel_a ^ 0x1111u;  // even / odd column bytes
#pragma unroll 1
  for (int u = warp; u < kGroups * kColUnits; u += kTransposeWarps) {
    const int group = u / kColUnits, cu = u % kColUnits;
    const int kc = group / 8, g = group % 8;
    const int key = 16 * group + key_in, col = 32 * cu + col_in;
    const uint32_t src = vs + uint32_t((col / 128) * kBlockN * 128 + key * 128 + ((((col % 128) / 16) ^ (key % 8)) * 16));
    uint32_t r0, r1, r2, r3;
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];"
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
                 : "r"(src));
    if constexpr (kZeroTail) {  // r0 / r2: keys 16 group + 2 t, + 1; r1 / r3: 8 further
      const int k0 = 16 * group + 2 * t;
      const uint32_t m0 = (valid > k0 ? 0x0000ffffu : 0u) | (valid > k0 + 1 ? 0xffff0000u : 0u);
      const uint32_t m1 = (valid > k0 + 8 ? 0x0000ffffu : 0u) | (valid > k0 + 9 ? 0xffff0000u : 0u);
      r0 &= m0;
      r2 &= m0;
      r1 &= m1;
      r3 &= m1;
    }
    const int n = 32 * cu + row_out;
    const uint32_t dst = vt + uint32_t(kc * kDV * 128 + n * 128 + ((g ^ (n % 8)) * 16));
    asm volatile("stmatrix.sync.aligned.m8n8.x4.shared.b16 [%0], {%1, %2, %3, %4};" ::"r"(dst),
                 "r"(byte_perm(r0, r1, sel_a)), "r"(byte_perm(r0, r1, sel_b)), "r"(byte_perm(r2, r3, sel_a)),
                 "r"(byte_perm(r2, r3, sel_b))
                 : "memory");
  }
}

template <int kDV, int kBlockN>
__device__ __forceinline__ void transpose_v(uint32_t vs, uint32_t vt, int valid, int tid) {
  static_assert(kDV % 64 == 0 && kBlockN % 64 == 0, "fp8 V transpose: dv and the key block multiples of 64");
  if (valid >= kBlockN)  // a whole block (all but a sequence's last)
    transpose_units<kDV, kBlockN, false>(vs, vt, valid, tid);
  else
    transpose_units<kDV, kBlockN, true>(vs, vt, valid, tid);
}

}  // namespace fa3jit_k::sm90
