// Where the sm90 kernel's tiles and mbarriers live in shared memory
// (layout from tile_config.cuh; every tile 1024-byte aligned).
#pragma once
#include "tile_config.cuh"

namespace fa3jit_k::sm90 {

template <int kD, int kDV, int kBlockN, int kStages, int kQStages, int kElem = 2, bool kTileRing = false,
          int kQRows = kBlockM>
struct Smem {
  static constexpr int kQBuffers = kQStages;
  static constexpr int kElemBytes = kElem;
  static constexpr SmemLayout kLayout = smem_layout(kD, kDV, kBlockN, kStages, kQStages, kElem, kTileRing, kQRows);
  static constexpr int kQBytes = kQRows * row_bytes(kD, kElem);
  static constexpr int kKBytes = kBlockN * row_bytes(kD, kElem);  // one stage
  static constexpr int kVsBytes = kBlockN * row_bytes(kDV, kElem);  // V as TMA loads it (fp8: the staging buffer)
  static constexpr int kVBytes = kElem == 1 ? kDV * row_bytes(kBlockN, 1) : kVsBytes;  // fp8: V^T
  static_assert(kKBytes % 1024 == 0 && kVBytes % 1024 == 0 && kVsBytes % 1024 == 0,
                "tiles must keep 1024-byte alignment");

  uint8_t* base;

  __device__ explicit Smem(uint8_t* raw) {
    const uint32_t a = static_cast<uint32_t>(__cvta_generic_to_shared(raw));
    base = raw + ((1024 - (a & 1023)) & 1023);
  }
  __device__ uint8_t* q(int i) const { return base + kLayout.q + i * kQBytes; }
  __device__ uint8_t* k(int stage) const { return base + kLayout.k + stage * kKBytes; }
  __device__ uint8_t* v(int stage) const { return base + kLayout.v + stage * kVBytes; }
  __device__ uint64_t* bar(int i) const { return reinterpret_cast<uint64_t*>(base + kLayout.bars) + i; }
  __device__ uint64_t* q_full(int i) const { return bar(i); }
  __device__ uint64_t* q_empty(int i) const { return bar(kQStages + i); }
  __device__ uint64_t* k_full(int s) const { return bar(2 * kQStages + s); }
  __device__ uint64_t* k_empty(int s) const { return bar(2 * kQStages + kStages + s); }
  __device__ uint64_t* v_full(int s) const { return bar(2 * kQStages + 2 * kStages + s); }
  __device__ uint64_t* v_empty(int s) const { return bar(2 * kQStages + 3 * kStages + s); }
  // fp8 only: the staging buffer of V (loaded by TMA, then transposed into v)
  __device__ uint8_t* vs(int stage) const { return base + kLayout.vs + stage * kVsBytes; }
  __device__ uint64_t* vs_full(int s) const { return bar(2 * kQStages + 4 * kStages + s); }
  // the real keys of the block in staging buffer s (kNoMoreBlocks: the loads ended)
  __device__ volatile int* vs_valid(int s) const {
    return reinterpret_cast<volatile int*>(bar(2 * kQStages + 5 * kStages)) + s;
  }
  // kTileRing: tile index slot i of the producer-to-consumers ring (tile_ring.cuh)
  static constexpr int kRingBar = 2 * kQStages + (kElem == 1 ? 6 : 4) * kStages;
  __device__ uint64_t* tile_full(int i) const { return bar(kRingBar + i); }
  __device__ uint64_t* tile_empty(int i) const { return bar(kRingBar + 2 + i); }
  __device__ volatile int* tile_slot(int i) const {
    return reinterpret_cast<volatile int*>(bar(kRingBar + 4)) + i;
  }
};

}  // namespace fa3jit_k::sm90
