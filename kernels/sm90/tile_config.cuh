// The compile-time shape of one sm90 forward instance, shared by the kernel
// and the host code that picks it (both agree on the shared-memory layout
// and on what the flags mean). Host- and device-compilable.
#pragma once
#include "../common/params.cuh"

namespace fa3jit_k::sm90 {

// Feature flags (template argument kFlags of fwd_kernel).
enum : int {
  kFlagPaged = 1,     // K/V blocks from pages (page_size a multiple of the key block)
  kFlagSoftcap = 2,   // softcap * tanh(s / softcap)
  kFlagSinks = 4,     // attention-sink logits join the denominator
  kFlagPackGqa = 8,   // a tile holds the q-heads of one kv-head
  kFlagPingpong = 16, // the consumer warpgroups take turns issuing MMAs
  kFlagScalePositive = 32,  // the score scale is > 0 (the softmax scales inside exp2)
  kFlagQDouble = 64,  // two Q buffers: the next tile's Q loads during this tile
};

// Mask kinds (template argument kMask), as on the sm80 path.
enum : int { kMaskNone = 0, kMaskCausal = 1, kMaskLocal = 2 /* window and/or chunk */ };

constexpr int kBlockM = 128;          // query rows per tile: 64 per consumer warpgroup
constexpr int kConsumerWarpgroups = 2;
constexpr int kThreads = 128 * (1 + kConsumerWarpgroups);  // + the producer warpgroup
constexpr int kProducerRegs = 24;     // setmaxnreg: 128 * 24 + 256 * 240 = 64512 <= 65536
constexpr int kConsumerRegs = 240;

// Columns of a head dim in shared memory: whole 64-element swizzle chunks.
FA3JIT_HD constexpr int padded_cols(int d) { return (d + 63) / 64 * 64; }

// Shared memory (bytes, 16-bit elements): `q_stages` Q tiles, `stages` K
// and V blocks, then the mbarriers (q full/empty per Q buffer, k full/empty
// and v full/empty per stage); 1024 bytes of slack to align the base for
// the 128-byte swizzle.
struct SmemLayout {
  int q, k, v, bars, total;
};
FA3JIT_HD constexpr SmemLayout smem_layout(int d, int dv, int block_n, int stages, int q_stages) {
  SmemLayout s{};
  s.q = 0;
  s.k = s.q + q_stages * kBlockM * padded_cols(d) * 2;
  s.v = s.k + stages * block_n * padded_cols(d) * 2;
  s.bars = s.v + stages * block_n * padded_cols(dv) * 2;
  s.total = s.bars + 8 * (2 * q_stages + 4 * stages) + 1024;
  return s;
}

}  // namespace fa3jit_k::sm90
