// The compile-time shape of one sm90 forward instance, shared by the kernel
// and the host code that picks it (both agree on the shared-memory layout
// and on what the flags mean). Host- and device-compilable.
#pragma once
#include "../common/params.cuh"

namespace fa3jit_k::sm90 {

// Feature flags (template argument kFlags of fwd_kernel).
enum : int {
  kFlagPaged = 1,     // K/V blocks from pages (a multiple of the key block, or of 8 rows dividing it)
  kFlagSoftcap = 2,   // softcap * tanh(s / softcap)
  kFlagSinks = 4,     // attention-sink logits join the denominator
  kFlagPackGqa = 8,   // a tile holds the q-heads of one kv-head
  kFlagPingpong = 16, // the consumer warpgroups take turns issuing MMAs
  kFlagQDouble = 32,  // two Q buffers: the next tile's Q loads during this tile
  kFlagSplit = 64,    // split-KV: fp32 partials into the workspace, for the combine kernel
  kFlagOneWarpgroup = 128,  // decode: one consumer warpgroup, 64-row Q tiles (no pingpong)
  kFlagDynamic = 256,  // CTAs take the next tile from a global counter (tile_ring.cuh), not rounds
  kFlagThreeWarpgroups = 512,  // three consumer warpgroups, 192-row Q tiles (16-bit d 64)
};

// Mask kinds (template argument kMask), as on the sm80 path.
enum : int { kMaskNone = 0, kMaskCausal = 1, kMaskLocal = 2 /* window and/or chunk */ };

constexpr int kBlockM = 128;  // query rows per tile of the default kernel: 64 per consumer warpgroup

// The shape that the flags give: 2 consumer warpgroups (128-row tiles), 1
// (kFlagOneWarpgroup: 64-row tiles, so that decode's few packed rows do not
// fill 128) or 3 (kFlagThreeWarpgroups: 192-row tiles, so that each K / V
// block serves more rows, as FA3 does at d 64); plus the producer
// warpgroup. setmaxnreg splits the registers: 128 * 24 + 256 * 240 = 64512
// <= 65536, 128 * 56 + 128 * 256 (as FA3), or 128 * 24 + 384 * 160.
FA3JIT_HD constexpr int consumer_warpgroups(int flags) {
  return (flags & kFlagOneWarpgroup) ? 1 : (flags & kFlagThreeWarpgroups) ? 3 : 2;
}
FA3JIT_HD constexpr int block_m_of(int flags) { return 64 * consumer_warpgroups(flags); }
// Rows of a Q buffer: the default tile's 128 (the 64-row kernel keeps the
// same layout), 192 for three warpgroups.
FA3JIT_HD constexpr int q_rows_of(int flags) { return block_m_of(flags) > kBlockM ? block_m_of(flags) : kBlockM; }
FA3JIT_HD constexpr int threads_of(int flags) { return 128 * (1 + consumer_warpgroups(flags)); }
FA3JIT_HD constexpr int producer_regs(int flags) { return consumer_warpgroups(flags) == 1 ? 56 : 24; }
FA3JIT_HD constexpr int consumer_regs(int flags) {
  return consumer_warpgroups(flags) == 1 ? 256 : consumer_warpgroups(flags) == 3 ? 160 : 240;
}
// fp8: the producer warpgroup also transposes V, which does not fit in 24
// registers (its tile walk spills below 56 in the split instances).
FA3JIT_HD constexpr int fp8_producer_regs(int) { return 56; }
FA3JIT_HD constexpr int fp8_consumer_regs(int flags) { return consumer_warpgroups(flags) == 1 ? 256 : 224; }
// setmaxnreg moves registers inside the CTA's launch allocation (168 per
// thread at 384 threads): the consumers take no more than the producer gives
// up, else their setmaxnreg.inc waits forever.
static_assert(producer_regs(0) + 2 * consumer_regs(0) <= 3 * 168, "2-warpgroup register split");
static_assert(fp8_producer_regs(0) + 2 * fp8_consumer_regs(0) <= 3 * 168, "2-warpgroup fp8 register split");
// Three consumer warpgroups: 512 threads launch with 128 registers each (16-bit only).
static_assert(producer_regs(kFlagThreeWarpgroups) + 3 * consumer_regs(kFlagThreeWarpgroups) <= 4 * 128,
              "3-warpgroup register split");
// One consumer warpgroup: 256 threads get all 65536 registers (256 each).
static_assert(producer_regs(kFlagOneWarpgroup) + consumer_regs(kFlagOneWarpgroup) <= 2 * 256 &&
                  fp8_producer_regs(kFlagOneWarpgroup) + fp8_consumer_regs(kFlagOneWarpgroup) <= 2 * 256,
              "1-warpgroup register split");

// Columns of a head dim in shared memory: whole 64-element swizzle chunks.
FA3JIT_HD constexpr int padded_cols(int d) { return (d + 63) / 64 * 64; }

// Element size of an input dtype in shared memory: 1 byte for fp8 e4m3,
// else 2. A 128-byte swizzle row (one TMA box width) holds 128 / bytes
// elements, so every column chunk, box and k step follows from it.
FA3JIT_HD constexpr int elem_bytes(int dtype) { return dtype == kFP8E4M3 ? 1 : 2; }
FA3JIT_HD constexpr int chunk_cols(int elem) { return 128 / elem; }
// Bytes of a row of `cols` elements: whole 128-byte swizzle chunks.
FA3JIT_HD constexpr int row_bytes(int cols, int elem) { return (cols * elem + 127) / 128 * 128; }

// Shared memory (bytes; `elem` bytes per element): `q_stages` Q tiles of
// `q_rows` rows (q_rows_of),
// `stages` K and V blocks, then the mbarriers (q full/empty per Q buffer,
// k full/empty and v full/empty per stage); 1024 bytes of slack to align
// the base for the 128-byte swizzle. `tile_ring` (kFlagDynamic): after the
// barriers, the ring that hands fetched tile indices from the producer to
// the consumers (2 full + 2 empty mbarriers, 2 ints). fp8 (elem 1): wgmma reads 8-bit B
// operands K-major only, so the V blocks hold V^T (dv rows of block_n keys),
// and V lands first, as TMA loads it (block_n rows of dv), in `stages`
// staging buffers `vs`, each with one more full barrier and an int (the
// block's real keys) after the barriers.
struct SmemLayout {
  int q, k, v, vs, bars, total;
};
FA3JIT_HD constexpr SmemLayout smem_layout(int d, int dv, int block_n, int stages, int q_stages, int elem = 2,
                                           bool tile_ring = false, int q_rows = kBlockM) {
  SmemLayout s{};
  const bool fp8 = elem == 1;
  s.q = 0;
  s.k = s.q + q_stages * q_rows * row_bytes(d, elem);
  s.v = s.k + stages * block_n * row_bytes(d, elem);
  s.vs = s.v + stages * (fp8 ? dv * row_bytes(block_n, 1) : block_n * row_bytes(dv, elem));
  s.bars = s.vs + (fp8 ? stages * block_n * row_bytes(dv, 1) : 0);
  s.total = s.bars + 8 * (2 * q_stages + (fp8 ? 6 : 4) * stages + (tile_ring ? 5 : 0)) + 1024;
  return s;
}

}  // namespace fa3jit_k::sm90
