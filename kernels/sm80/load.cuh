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

// One 8-element chunk into smem at address sdst: from src (1- or 2-byte
// elements), or zeros where src is null (`any_valid` is a readable address
// for the zero-byte cp.async).
template <int kInDtype>
__device__ __forceinline__ void copy_chunk(uint32_t sdst, const char* src, const void* any_valid) {
  if constexpr (kInDtype == kFP8E4M3) {
    Words4 w{0u, 0u, 0u, 0u};
    if (src) {
      const Words2 v = *reinterpret_cast<const Words2*>(src);
      uint32_t h[4];
      fp8x8_to_bf16x8(v.x, v.y, h);
      w = Words4{h[0], h[1], h[2], h[3]};
    }
    asm volatile("st.shared.v4.u32 [%0], {%1, %2, %3, %4};\n" ::"r"(sdst), "r"(w.x), "r"(w.y), "r"(w.z), "r"(w.w)
                 : "memory");
  } else {
    cp_async_16(sdst, src ? static_cast<const void*>(src) : any_valid, src ? 16 : 0);
  }
}

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
    constexpr int kElem = kInDtype == kFP8E4M3 ? 1 : 2;
    const bool ok = off >= 0 && c < cols;
    copy_chunk<kInDtype>(smem_addr(smem + i * kStride + c),
                         ok ? static_cast<const char*>(base) + (off + c) * kElem : nullptr, base);
  }
}

// A tile whose row i sits at first_off + i * row_stride elements of `base`
// (an unpaged K / V block): per-thread chunk addresses step by a constant,
// so no per-chunk offset arithmetic. Rows >= rows_valid and columns >= cols
// are zeros.
template <int kInDtype, int kRows, int kCols, int kThreads>
__device__ __forceinline__ void load_rows_strided(uint16_t* smem, const void* base, int64_t first_off,
                                                  int64_t row_stride, int rows_valid, int cols) {
  constexpr int kChunks = kCols / 8;
  if constexpr (kThreads % kChunks != 0) {
    load_tile<kInDtype, kRows, kCols, kThreads>(smem, base, cols, [&](int i) -> int64_t {
      return i < rows_valid ? first_off + int64_t(i) * row_stride : -1;
    });
  } else {
    constexpr int kRowStep = kThreads / kChunks;  // rows one pass of the threads covers
    constexpr int kStride = smem_stride(kCols);
    const int r0 = threadIdx.x / kChunks, c = (threadIdx.x % kChunks) * 8;
    const bool col_ok = c < cols;
    // This thread's source and destination addresses, advanced one row step
    // at a time (a loop, not unrolled: unrolled, the compiler keeps every
    // chunk's address live across the key loop and the 4-warp tiles spill).
    constexpr int kElem = kInDtype == kFP8E4M3 ? 1 : 2;
    const char* src = static_cast<const char*>(base) + (first_off + int64_t(r0) * row_stride + c) * kElem;
    const int64_t step = int64_t(kRowStep) * row_stride * kElem;
    uint32_t sdst = smem_addr(smem + r0 * kStride + c);
#pragma unroll 1
    for (int i = r0; i < kRows; i += kRowStep, src += step, sdst += kRowStep * kStride * 2)
      copy_chunk<kInDtype>(sdst, col_ok && i < rows_valid ? src : nullptr, base);
  }
}

}  // namespace fa3jit_k::sm80
