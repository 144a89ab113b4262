// The producer of the sm90 kernel: one thread of the producer warpgroup
// issues every TMA load. Per tile: Q once (after the consumers released the
// previous tile's Q), then K and V blocks from the last key block to the
// first into a ring of `kStages` buffers, each on full / empty mbarriers.
#pragma once
#include "smem.cuh"
#include "tile_sched.cuh"
#include "tma.cuh"

namespace fa3jit_k::sm90 {

template <int kD, int kDV, int kBlockN, int kStages, int kMask, int kFlags, class S>
__device__ __forceinline__ void produce(const AttnParams& p, const TmaDesc* tq, const TmaDesc* tk, const TmaDesc* tv,
                                        const S& sm, int group) {
  constexpr bool kPaged = kFlags & kFlagPaged, kPack = kFlags & kFlagPackGqa;
  const TileGrid g = tile_grid(p, kPack, group);
  const bool k_is_4d = !kPaged && !p.cu_seqlens_k;
  int kv_it = 0, tcount = 0;
  for (int round = 0; round * int(gridDim.x) < g.count; ++round) {
    const int t = tile_of_round(round);
    if (t >= g.count) continue;
    const Tile x = tile_at<kBlockN, kMask>(p, g, t);
    if (!x.valid) continue;
    // Q: packed rows are (q row, head) pairs, the box (64, hpack, 128 / hpack)
    const int qs = tcount % S::kQBuffers;
    mbar_wait(sm.q_empty(qs), ((tcount / S::kQBuffers) & 1) ^ 1);
    mbar_arrive_expect_tx(sm.q_full(qs), S::kQBytes);
    const int q_row = x.s.q_start + x.m_block * kBlockM / g.hpack;
    const int q_head = kPack ? x.hk * g.hpack : x.head;
    const int q_batch = p.cu_seqlens_q ? 0 : x.b;
#pragma unroll
    for (int c = 0; c < padded_cols(kD) / 64; ++c)
      tma_load_4d(sm.q(qs) + c * kBlockM * 128, tq, c * 64, q_head, q_row, q_batch, sm.q_full(qs));

    for (int n = x.n_end - 1; n >= x.n_begin; --n) {
      const int st = kv_it % kStages;
      const uint32_t ph = (kv_it / kStages) & 1;
      int row, batch;  // of the block's first key: page rows and page id when paged
      if constexpr (kPaged) {
        const int t0 = n * kBlockN;
        batch = p.page_table[x.b * p.page_table_stride + t0 / p.page_size];
        row = t0 % p.page_size;
      } else {
        row = x.s.k_start + n * kBlockN;
        batch = k_is_4d ? x.b : 0;
      }
      mbar_wait(sm.k_empty(st), ph ^ 1);
      mbar_arrive_expect_tx(sm.k_full(st), S::kKBytes);
#pragma unroll
      for (int c = 0; c < padded_cols(kD) / 64; ++c)
        tma_load_4d(sm.k(st) + c * kBlockN * 128, tk, c * 64, x.hk, row, batch, sm.k_full(st));
      mbar_wait(sm.v_empty(st), ph ^ 1);
      mbar_arrive_expect_tx(sm.v_full(st), S::kVBytes);
#pragma unroll
      for (int c = 0; c < padded_cols(kDV) / 64; ++c)
        tma_load_4d(sm.v(st) + c * kBlockN * 128, tv, c * 64, x.hk, row, batch, sm.v_full(st));
      ++kv_it;
    }
    ++tcount;
  }
}

}  // namespace fa3jit_k::sm90
