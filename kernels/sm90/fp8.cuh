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

__device__ __forceinline__ uint32_t ld_shared_u32(uint32_t addr) {
  uint32_t v;
  asm volatile("ld.shared.b32 %0, [%1];" : "=r"(v) : "r"(addr) : "memory");
  return v;
}
__device__ __forceinline__ void st_shared_u32(uint32_t addr, uint32_t v) {
  asm volatile("st.shared.b32 [%0], %1;" ::"r"(addr), "r"(v) : "memory");
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
// Thread (warp w < kTransposeWarps, lane = 4 m + t) moves keys
// 16 m + 2 t + {0, 1, 8, 9} of a 128-key chunk (4 bytes of one V column each) to the 4 consecutive bytes
// 16 m + 4 t .. + 3 of V^T's row for that column, 4 columns at a time (one
// 32-bit word per key, a 4 x 4 byte transpose with prmt). Column words are
// assigned so that neither the loads nor the stores have bank conflicts:
// word (m + y) % 4 of the 16-byte unit x ^ (m / 4) (loads: the lanes of one
// instruction read rows 2 t + {0 or 1} mod 8 and so cover the 8 swizzled
// units x 4 words; stores: rows n = 4 word + j, whose (n % 8) ^ m units with
// t's 4 words again cover all 32 banks).
constexpr int kTransposeWarps = 3;  // warps 1-3 of the producer warpgroup
constexpr int kNoMoreBlocks = -0x7fffffff - 1;  // a staging buffer's key count after the last block

// Key chunk kc of the block (kHalf: its 64 keys fill half of the V^T rows;
// the half-warps h then take the 16-key groups kg = 0..3 of two units,
// 2 x + h, the second with its words ^ 1, so that its stores land 4 swizzle
// units away: still no conflict). kZeroTail: some keys of the chunk are
// past `valid` (else no key is zeroed, and no select is spent on it).
template <int kDV, int kBlockN, bool kHalf, bool kZeroTail>
__device__ __forceinline__ void transpose_chunk(uint32_t vs, uint32_t vt, int valid, int tid, int kc) {
  constexpr int kUnits = kDV / 16;  // 16-byte units of a V row (all column chunks)
  const int warp = tid / 32, lane = tid % 32, m = lane / 4, t = lane % 4, h = m / 4, kg = kHalf ? m % 4 : m;
  const int key0 = kc * 128 + 16 * kg + 2 * t;
  // keys key0 + {0, 1, 8, 9} that are real (bit i)
  const uint32_t keep = (valid > key0 ? 1u : 0u) | (valid > key0 + 1 ? 2u : 0u) | (valid > key0 + 8 ? 4u : 0u) |
                        (valid > key0 + 9 ? 8u : 0u);
#pragma unroll 1
  for (int x = warp; x < (kHalf ? kUnits / 2 : kUnits); x += kTransposeWarps) {
    const int unit = kHalf ? 2 * x + h : x ^ h;
    // rows key0 + {0, 1} (+ 8) swizzle by 2 t + {0, 1}: unit uu, uu ^ 1
    const uint32_t src = vs + uint32_t((unit / 8) * kBlockN * 128 + key0 * 128);
    const int uu = (unit % 8) ^ (2 * t);
    // two column words at a time, their 8 loads first (volatile asm keeps
    // the order), so that 8 loads are in flight rather than 4 (registers
    // allow no more)
#pragma unroll 1
    for (int y0 = 0; y0 < 4; y0 += 2) {
      uint32_t w[2][4];
#pragma unroll
      for (int y = 0; y < 2; ++y) {
        const int word = ((kg + y0 + y) % 4) ^ (kHalf ? h : 0);
        const uint32_t a0 = src + uint32_t(uu * 16 + word * 4), a1 = src + uint32_t(128 + (uu ^ 1) * 16 + word * 4);
        w[y][0] = ld_shared_u32(a0);
        w[y][1] = ld_shared_u32(a1);
        w[y][2] = ld_shared_u32(a0 + 1024);
        w[y][3] = ld_shared_u32(a1 + 1024);
      }
#pragma unroll
      for (int y = 0; y < 2; ++y) {
        const int word = ((kg + y0 + y) % 4) ^ (kHalf ? h : 0);
        if constexpr (kZeroTail) {
#pragma unroll
          for (int i = 0; i < 4; ++i) w[y][i] = (keep >> i) & 1u ? w[y][i] : 0u;
        }
        // 4 x 4 byte transpose: out[j] = byte j of w[0], w[1], w[2], w[3]
        const uint32_t t0 = byte_perm(w[y][0], w[y][1], 0x5140), t1 = byte_perm(w[y][0], w[y][1], 0x7362);
        const uint32_t t2 = byte_perm(w[y][2], w[y][3], 0x5140), t3 = byte_perm(w[y][2], w[y][3], 0x7362);
        // V^T rows n = 16 unit + 4 word + j swizzle by n % 8 = 4 (word % 2) + j
        const uint32_t dst = vt + uint32_t(kc * kDV * 128 + (unit * 16 + word * 4) * 128 + 4 * t);
        const int um = kg ^ (4 * (word & 1));
        st_shared_u32(dst + uint32_t((um ^ 0) * 16), byte_perm(t0, t2, 0x5410));
        st_shared_u32(dst + uint32_t(128 + (um ^ 1) * 16), byte_perm(t0, t2, 0x7632));
        st_shared_u32(dst + uint32_t(256 + (um ^ 2) * 16), byte_perm(t1, t3, 0x5410));
        st_shared_u32(dst + uint32_t(384 + (um ^ 3) * 16), byte_perm(t1, t3, 0x7632));
      }
    }
  }
}

// Every key chunk of the block (the last one of 64 keys half width).
template <int kDV, int kBlockN, bool kZeroTail>
__device__ __forceinline__ void transpose_chunks(uint32_t vs, uint32_t vt, int valid, int tid) {
#pragma unroll 1
  for (int kc = 0; kc < kBlockN / 128; ++kc) transpose_chunk<kDV, kBlockN, false, kZeroTail>(vs, vt, valid, tid, kc);
  if constexpr (kBlockN % 128 != 0) transpose_chunk<kDV, kBlockN, true, kZeroTail>(vs, vt, valid, tid, kBlockN / 128);
}

template <int kDV, int kBlockN>
__device__ __forceinline__ void transpose_v(uint32_t vs, uint32_t vt, int valid, int tid) {
  static_assert(kDV % 64 == 0 && kBlockN % 64 == 0, "fp8 V transpose: dv and the key block multiples of 64");
  if (valid >= kBlockN)  // a whole block (all but a sequence's last)
    transpose_chunks<kDV, kBlockN, false>(vs, vt, valid, tid);
  else
    transpose_chunks<kDV, kBlockN, true>(vs, vt, valid, tid);
}

}  // namespace fa3jit_k::sm90
