// Global -> shared copies of Q / K / V tiles for the sm80 kernel: 8-element
// chunks, cp.async for 16-bit types (zero-fill past the problem's rows and
// head dim), fp8 e4m3 dequantized to bf16 on the way (sm_80 has no fp8 MMA).
#pragma once
#include "../common/dtypes.cuh"
#include "mma.cuh"
#include "tile_config.cuh"

namespace fa3jit_k::sm80 {

struct alignas(16) Words4 {
  uint32_t x, y, z, w;
};
struct alignas(8) Words2 {
  uint32_t x, y;
};

// Loads a kRows x kCols tile into smem (row stride smem_stride(kCols)).
// row_offset(i) is the element offset of tile row i in `base`, or < 0 for a
// row outside the problem (zeros). Columns >= cols are zeros.
template <int kInDtype, int kRows, int kCols, int kThreads, class RowOffset>
__device__ __forceinline__ void load_tile(uint16_t* smem, const void* base, int cols, RowOffset row_offset) {
  constexpr int kChunks = kCols / 8;
  constexpr int kStride = smem_stride(kCols);
#pragma unroll 2
  for (int idx = threadIdx.x; idx < kRows * kChunks; idx += kThreads) {
    const int i = idx / kChunks, c = (idx % kChunks) * 8;
    const int64_t off = row_offset(i);
    const bool ok = off >= 0 && c < cols;
    uint16_t* dst = smem + i * kStride + c;
    if constexpr (kInDtype == kFP8E4M3) {
      Words4 w{0u, 0u, 0u, 0u};
      if (ok) {
        const Words2 v = *reinterpret_cast<const Words2*>(static_cast<const uint8_t*>(base) + off + c);
        uint32_t h[4];
        fp8x8_to_bf16x8(v.x, v.y, h);
        w = Words4{h[0], h[1], h[2], h[3]};
      }
      *reinterpret_cast<Words4*>(dst) = w;
    } else {
      const uint16_t* src = static_cast<const uint16_t*>(base) + (ok ? off + c : 0);
      cp_async_16(smem_addr(dst), src, ok ? 16 : 0);
    }
  }
}

}  // namespace fa3jit_k::sm80
