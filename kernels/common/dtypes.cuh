// Device-side element conversions for the storage types (fp16, bf16, fp8
// e4m3) with inline PTX / bit operations only, so that kernels compile with
// NVRTC and no toolkit headers (no cuda_fp16.h / cuda_bf16.h).
// Pairs travel packed in a uint32_t: element 0 in the low half.
#pragma once
#include "params.cuh"

namespace fa3jit_k {

#if defined(FA3JIT_DEVICE_CODE)

// Two floats to a packed pair of 16-bit values (round to nearest even).
template <int kDtype>
__device__ __forceinline__ uint32_t pack_half2(float lo, float hi) {
  static_assert(kDtype == kBF16 || kDtype == kF16, "pack_half2: bf16 or fp16 only");
  uint32_t r;
  if constexpr (kDtype == kBF16)
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
  else
    asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}

// One 16-bit value to float.
template <int kDtype>
__device__ __forceinline__ float half_to_float(uint16_t h) {
  if constexpr (kDtype == kBF16) {
    return __uint_as_float(uint32_t(h) << 16);
  } else {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
  }
}

// fp8 e4m3 (OCP "fn") to float with bit operations (sm_80 has no fp8 cvt).
__device__ __forceinline__ float fp8e4m3_to_float(uint32_t x) {
  const uint32_t sign = (x & 0x80u) << 24, exp = (x >> 3) & 0xfu, man = x & 0x7u;
  if (exp == 0xf && man == 0x7) return __uint_as_float(0x7fc00000u);  // NaN
  if (exp == 0) {  // subnormal: man * 2^-9 (exact in float)
    const float v = float(man) * 0.001953125f;
    return __uint_as_float(__float_as_uint(v) | sign);
  }
  return __uint_as_float(sign | ((exp + 120u) << 23) | (man << 20));
}

// Eight fp8 values (two words, element 0 in the low byte of w0) to four
// packed bf16 pairs; exact (e4m3 fits in bf16).
__device__ __forceinline__ void fp8x8_to_bf16x8(uint32_t w0, uint32_t w1, uint32_t out[4]) {
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const uint32_t w = i < 2 ? w0 : w1;
    const int sh = (i & 1) * 16;
    const float lo = fp8e4m3_to_float((w >> sh) & 0xffu);
    const float hi = fp8e4m3_to_float((w >> (sh + 8)) & 0xffu);
    out[i] = (__float_as_uint(lo) >> 16) | (__float_as_uint(hi) & 0xffff0000u);
  }
}

// Stores a pair of output values at `dst` (element pointer of the output
// dtype): packed 16-bit (one 32-bit store when aligned), or two floats.
template <int kDtype>
__device__ __forceinline__ void store_pair(void* dst, float lo, float hi) {
  if constexpr (kDtype == kF32) {
    float* d = static_cast<float*>(dst);
    d[0] = lo;
    d[1] = hi;
  } else {
    const uint32_t v = pack_half2<kDtype>(lo, hi);
    if ((reinterpret_cast<unsigned long long>(dst) & 3ull) == 0) {
      *static_cast<uint32_t*>(dst) = v;
    } else {
      uint16_t* d = static_cast<uint16_t*>(dst);
      d[0] = uint16_t(v & 0xffffu);
      d[1] = uint16_t(v >> 16);
    }
  }
}

// Stores the pairs of one accumulator row that a thread holds (the mma.sync
// and wgmma layouts alike: pair i at columns 8 i + 2 t4 and + 1), `pair(i)`
// (a float2) times `scale`, into the row at `dst` (element pointer of
// kDtype); columns >= `cols` are not written. The common case (every column
// real, the row 4-byte aligned, 8 for fp32) stores each pair with one
// instruction: tested per pair, the stores cost about as many issue slots
// as two key blocks' softmax of a 128-row tile.
template <int kDtype, int kPairs, class Pair>
__device__ __forceinline__ void store_row_pairs(void* dst, int t4, int cols, float scale, Pair&& pair) {
  constexpr int kBytes = kDtype == kF32 ? 4 : 2;
  char* row = static_cast<char*>(dst);
  if (cols >= 8 * kPairs && (reinterpret_cast<unsigned long long>(dst) & (2 * kBytes - 1)) == 0) {
#pragma unroll
    for (int i = 0; i < kPairs; ++i) {
      const float2 v = pair(i);
      char* at = row + (8 * i + 2 * t4) * kBytes;
      if constexpr (kDtype == kF32)
        *reinterpret_cast<float2*>(at) = make_float2(v.x * scale, v.y * scale);
      else
        *reinterpret_cast<uint32_t*>(at) = pack_half2<kDtype>(v.x * scale, v.y * scale);
    }
    return;
  }
#pragma unroll
  for (int i = 0; i < kPairs; ++i) {
    const int col = 8 * i + 2 * t4;
    const float2 v = pair(i);
    if (col < cols) store_pair<kDtype>(row + col * kBytes, v.x * scale, v.y * scale);
  }
}

template <int kDtype>
__device__ __forceinline__ void store_one(void* dst, float x) {
  if constexpr (kDtype == kF32) {
    *static_cast<float*>(dst) = x;
  } else {
    *static_cast<uint16_t*>(dst) = uint16_t(pack_half2<kDtype>(x, 0.f) & 0xffffu);
  }
}

#endif  // FA3JIT_DEVICE_CODE

}  // namespace fa3jit_k
