// The producer of the sm90 kernel: warp 0 of the producer warpgroup issues
// every TMA load. Per tile: Q once (after the consumers released the
// previous tile's Q), then K and V blocks from the last key block to the
// first into a ring of `kStages` buffers, each on full / empty mbarriers.
// Lane 0 makes every barrier arrival and issues the whole-block loads; on
// pages smaller than the key block, lane j reads box j's page id once per
// block (one load latency for all boxes, kept in a register for V too) and
// issues that box's loads. Pages TMA cannot load (paged_by_tma) are
// gathered by the 4 warps of the producer warpgroup with cp.async
// (paged_gather.cuh).
// fp8: lane 0 loads V into a staging buffer instead, with the block's
// count of real keys beside it; warps 1-3 of the producer warpgroup take
// the blocks in the same order in their own loop (so that neither needs
// more than the producer's few registers), transpose each into V^T
// (fp8.cuh) and arrive on v_full.
#pragma once
#include "fp8.cuh"
#include "paged_boxes.cuh"
#include "paged_gather.cuh"
#include "smem.cuh"
#include "tile_ring.cuh"
#include "tma.cuh"

namespace fa3jit_k::sm90 {

// Issues this lane's loads of one K or V block (kBlockN rows of kChunks
// 128-byte column chunks) into dst, after lane 0's arrive_expect_tx on bar
// (__syncwarp between). Whole blocks: lane 0, one box per chunk at (row,
// batch). Pages smaller than the block (paged_boxes.cuh): lane j < boxes,
// box j of the block from page `page` (the lane's page id).
template <int kBlockN, int kChunks, int kCols, bool kPaged>
__device__ __forceinline__ void load_kv_block(uint8_t* dst, const TmaDesc* desc, int hk, int row, int batch,
                                              const AttnParams& p, int page, int t0, int seqlen_k, uint64_t* bar,
                                              int lane) {
  if (kPaged && p.page_size < kBlockN) {
    if (lane >= kBlockN / p.page_size) return;
    const PagedBox box = paged_box(t0, lane, p.page_size, p.page_size, seqlen_k);
#pragma unroll
    for (int c = 0; c < kChunks; ++c)
      tma_load_4d(dst + c * kBlockN * 128 + box.smem_row * 128, desc, c * kCols, hk, box.page_row, page, bar);
    return;
  }
  if (lane != 0) return;
#pragma unroll
  for (int c = 0; c < kChunks; ++c) tma_load_4d(dst + c * kBlockN * 128, desc, c * kCols, hk, row, batch, bar);
}

template <int kD, int kDV, int kBlockN, int kStages, int kMask, int kFlags, class S>
__device__ __forceinline__ void produce(const AttnParams& p, const TmaDesc* tq, const TmaDesc* tk, const TmaDesc* tv,
                                        const S& sm, int group, int* tile_ctr) {
  constexpr bool kPaged = kFlags & kFlagPaged, kPack = kFlags & kFlagPackGqa;
  constexpr bool kDynamic = kFlags & kFlagDynamic;
  // the dynamic walk is the producer warp's alone (the page gather runs this walk on 4 warps)
  static_assert(!(kDynamic && kPaged), "kFlagDynamic: not with paged KV");
  constexpr int kBM = block_m_of(kFlags);
  constexpr int kElem = S::kElemBytes, kCols = chunk_cols(kElem);  // elements per 128-byte chunk (TMA box width)
  constexpr bool kFp8 = kElem == 1;
  constexpr uint32_t kQLoadBytes = kBM * row_bytes(kD, kElem);  // the Q buffer's first kBM rows
  const TileGrid g = tile_grid<kFlags>(p, group);
  const bool k_is_4d = !kPaged && !p.cu_seqlens_k;
  const int lane = threadIdx.x % 32;
  // cp.async gather (16-bit inputs only; the host refuses fp8 there) by the
  // whole producer warpgroup (every warp runs this walk then): a thread
  // arrives on K's full barrier once its V copies are issued, and on V's
  // once the next block's K copies are (or at the tile's end).
  const bool gather = gathers_pages<kBlockN, kFlags, kElem>(p);
  int kv_it = 0, tcount = 0;
  for (int round = 0; kDynamic || round * int(gridDim.x) < g.count; ++round) {
    const int t = kDynamic ? publish_next_tile(sm, tile_ctr, round, lane) : tile_of_round(round);
    if (t >= g.count) {
      if constexpr (kDynamic) break;  // the end, published to the consumers
      continue;
    }
    const Tile x = tile_at<kBlockN, kMask, kFlags>(p, g, t);
    if (!x.valid || x.n_end <= x.n_begin) continue;  // no key block: no Q either
    // Q: packed rows are (q row, head) pairs, the box (64, hpack, kBM / hpack)
    const int qs = tcount % S::kQBuffers;
    mbar_wait(sm.q_empty(qs), ((tcount / S::kQBuffers) & 1) ^ 1);
    if (threadIdx.x == 0) {
      mbar_arrive_expect_tx(sm.q_full(qs), kQLoadBytes);
      const int q_row = x.s.q_start + x.m_block * kBM / g.hpack;
      const int q_head = kPack ? x.hk * g.hpack : x.head;
      const int q_batch = p.cu_seqlens_q ? 0 : x.b;
#pragma unroll
      for (int c = 0; c < row_bytes(kD, kElem) / 128; ++c)
        tma_load_4d(sm.q(qs) + c * kBM * 128, tq, c * kCols, q_head, q_row, q_batch, sm.q_full(qs));
    }

    const int* table_row = kPaged ? p.page_table + x.b * p.page_table_stride : nullptr;
    for (int n = x.n_end - 1; n >= x.n_begin; --n) {
      const int st = kv_it % kStages;
      const uint32_t ph = (kv_it / kStages) & 1;
      const int t0 = n * kBlockN;
      if constexpr (kPaged && !kFp8) {
        if (gather) {
          mbar_wait(sm.k_empty(st), ph ^ 1);
          gather_kv_block<kBlockN, row_bytes(kD, kElem) / 128, false>(sm.k(st), p, table_row, x.hk, t0, x.s.seqlen_k,
                                                                      int(threadIdx.x));
          if (n < x.n_end - 1) gather_arrive<1>(sm.v_full((kv_it + kStages - 1) % kStages));  // the previous V
          mbar_wait(sm.v_empty(st), ph ^ 1);
          gather_kv_block<kBlockN, row_bytes(kDV, kElem) / 128, true>(sm.v(st), p, table_row, x.hk, t0, x.s.seqlen_k,
                                                                      int(threadIdx.x));
          gather_arrive<1>(sm.k_full(st));
          if (n == x.n_begin) gather_arrive<0>(sm.v_full(st));  // the tile's last V: before waiting on its Q
          ++kv_it;
          continue;
        }
      }
      int row = 0, batch = 0;  // of the block's first key: page row and page id when paged
      int page = 0;            // small pages: this lane's box's page id
      if constexpr (kPaged) {
        if (p.page_size < kBlockN) {
          if (lane < kBlockN / p.page_size) page = table_row[paged_box(t0, lane, p.page_size, p.page_size, x.s.seqlen_k).table_col];
        } else if (lane == 0) {
          batch = table_row[t0 / p.page_size];
          row = t0 % p.page_size;
        }
      } else {
        row = x.s.k_start + t0;
        batch = k_is_4d ? x.b : 0;
      }
      mbar_wait(sm.k_empty(st), ph ^ 1);
      if (lane == 0) mbar_arrive_expect_tx(sm.k_full(st), S::kKBytes);
      __syncwarp();  // the expected bytes are set before any lane's load
      load_kv_block<kBlockN, row_bytes(kD, kElem) / 128, kCols, kPaged>(sm.k(st), tk, x.hk, row, batch, p, page, t0,
                                                                        x.s.seqlen_k, sm.k_full(st), lane);
      // fp8: V into the staging buffer, free once its previous block's V^T
      // is complete (every transposing thread arrived on v_full)
      uint64_t* v_bar = kFp8 ? sm.vs_full(st) : sm.v_full(st);
      uint8_t* v_dst = kFp8 ? sm.vs(st) : sm.v(st);
      mbar_wait(kFp8 ? sm.v_full(st) : sm.v_empty(st), ph ^ 1);
      if (lane == 0) {
        if constexpr (kFp8) *sm.vs_valid(st) = x.s.seqlen_k - t0;  // published by the arrive below
        mbar_arrive_expect_tx(v_bar, S::kVsBytes);
      }
      __syncwarp();
      load_kv_block<kBlockN, row_bytes(kDV, kElem) / 128, kCols, kPaged>(v_dst, tv, x.hk, row, batch, p, page, t0,
                                                                         x.s.seqlen_k, v_bar, lane);
      ++kv_it;
    }
    ++tcount;
  }
  if constexpr (kDynamic) finish_tile_counter(tile_ctr, lane);
  if constexpr (kFp8) {  // tells the transposing warps that no block follows
    const int st = kv_it % kStages;
    mbar_wait(sm.v_full(st), ((kv_it / kStages) & 1) ^ 1);
    if (lane == 0) {
      *sm.vs_valid(st) = kNoMoreBlocks;
      mbar_arrive(sm.vs_full(st));
    }
  }
}

// fp8: warps 1-3 of the producer warpgroup (`tid` 0..95): each V block
// that thread 0 loads, in its order, from the staging buffer into V^T once
// the consumers released that V^T buffer.
template <int kDV, int kBlockN, int kStages, class S>
__device__ __forceinline__ void transpose_blocks(const S& sm, int tid) {
  for (int kv_it = 0;; ++kv_it) {
    const int st = kv_it % kStages;
    const uint32_t ph = (kv_it / kStages) & 1;
    mbar_wait(sm.vs_full(st), ph);
    const int valid = *sm.vs_valid(st);
    if (valid == kNoMoreBlocks) return;
    mbar_wait(sm.v_empty(st), ph ^ 1);
    transpose_v<kDV, kBlockN>(smem_addr(sm.vs(st)), smem_addr(sm.v(st)), valid, tid);
    fence_async_smem();  // V^T (generic-proxy stores) is read by wgmma next
    mbar_arrive(sm.v_full(st));
  }
}

}  // namespace fa3jit_k::sm90
