// The persistent tile order of the sm90 kernel and what one tile covers.
// Tiles are (batch, head, m-block, split); split-KV (kFlagSplit) cuts each
// sequence's key blocks into p.num_splits shares (split_key_blocks, shared
// with sm80). The (batch, head) pairs are cut into
// groups of a few (the host picks the size: a group holds a couple of
// rounds of tiles); inside a group, m-blocks run from the last to the first
// (the longest first under a causal mask), each m-block's splits together,
// with the group's heads interleaved, so the CTAs running at once read the K/V of a few heads at
// nearby positions (L2 hits). CTAs take the list in rounds of gridDim.x
// tiles, in snake order (CTA i takes the i-th tile of even rounds and the
// i-th from the end of odd ones), which pairs long tiles with short ones.
// kFlagDynamic instead hands the list out as CTAs come free (a global
// counter, tile_ring.cuh): the static rounds balance causal and varlen lists
// poorly (scripts/model_tile_balance.py, docs/notes/tile_balance.md).
// Producer and consumers walk the same list and skip the same empty tiles
// (past a sequence's last m-block); a tile with no key block loads no Q and
// only writes its rows' empty result (out 0, or a split's LSE -inf).
#pragma once
#include "../common/combine.cuh"
#include "../common/mask.cuh"
#include "../common/seqinfo.cuh"
#include "tile_config.cuh"

namespace fa3jit_k::sm90 {

struct TileGrid {
  int hpack;    // q-heads per tile row group (pack_gqa), else 1
  int heads;    // heads in the grid: h_k when packed, else h
  int m_tiles;  // m-blocks of the longest sequence
  int splits;   // key splits per m-block (1 unless kFlagSplit)
  int pairs;    // (batch, head) pairs
  int group;    // pairs per L2 group (>= 1)
  int count;    // tiles in all
};

template <int kFlags>
FA3JIT_HD TileGrid tile_grid(const AttnParams& p, int group) {
  constexpr bool kPack = kFlags & kFlagPackGqa;
  TileGrid g;
  g.hpack = kPack ? p.h / p.h_k : 1;
  g.heads = kPack ? p.h_k : p.h;
  g.m_tiles = ceil_div(p.max_seqlen_q * g.hpack, block_m_of(kFlags));
  g.splits = (kFlags & kFlagSplit) ? p.num_splits : 1;
  g.pairs = g.heads * p.batch;
  g.group = imax(1, imin(group, g.pairs));
  g.count = g.m_tiles * g.splits * g.pairs;
  return g;
}

struct Tile {
  int b, head, m_block;  // head: q-head, or the kv-head when packed
  int split;             // key split (0 unless kFlagSplit)
  int hk;                // kv-head
  SeqInfo s;
  int rows_total;        // packed rows of the sequence (seqlen_q * hpack)
  int n_begin, n_end;    // key blocks to visit: [n_begin, n_end)
  int full_begin, full_end;  // keys every row of the tile sees (no per-element mask inside)
  bool valid;            // false: past this sequence's last m-block
};

// Tile of round k for CTA `cta` of `ctas` (>= count: none).
FA3JIT_HD int tile_of_round(int k, int cta, int ctas) { return k * ctas + ((k & 1) ? ctas - 1 - cta : cta); }
#if defined(FA3JIT_DEVICE_CODE)
__device__ __forceinline__ int tile_of_round(int k) { return tile_of_round(k, int(blockIdx.x), int(gridDim.x)); }
#endif

// Host-callable too: tests/cpp/test_sm90_tiles.cpp models the tile walk.
template <int kBlockN, int kMask, int kFlags>
FA3JIT_HD Tile tile_at(const AttnParams& p, const TileGrid& g, int t) {
  constexpr int kBM = block_m_of(kFlags);
  Tile x;
  const int group_tiles = g.group * g.m_tiles * g.splits;
  const int gi = t / group_tiles, r = t % group_tiles;
  const int in_group = imin(g.group, g.pairs - gi * g.group);
  const int hb = gi * g.group + r % in_group;
  x.head = hb % g.heads;
  x.b = hb / g.heads;
  const int ms_index = r / in_group;  // (m-block from the last, split)
  x.m_block = g.m_tiles - 1 - ms_index / g.splits;
  x.split = ms_index % g.splits;
  x.hk = g.hpack > 1 ? x.head : kv_head_of(p, x.head);
  x.s = seq_info(p, x.b);
  x.rows_total = x.s.seqlen_q * g.hpack;
  const int row0 = x.m_block * kBM;
  x.valid = row0 < x.rows_total;
  x.n_begin = x.n_end = 0;
  x.full_begin = 0;
  x.full_end = x.s.seqlen_k;
  if (!x.valid) return x;
  KeyRange keys{0, x.s.seqlen_k};
  if constexpr (kMask != kMaskNone) {
    const MaskSpec ms = mask_spec(p);
    const int r_first = row0 / g.hpack, r_last = (imin(row0 + kBM, x.rows_total) - 1) / g.hpack;
    keys = key_range_of_rows(ms, r_first, r_last + 1, x.s.seqlen_q, x.s.seqlen_k);
    x.full_begin = key_range(ms, r_last, x.s.seqlen_q, x.s.seqlen_k).begin;
    x.full_end = key_range(ms, r_first, x.s.seqlen_q, x.s.seqlen_k).end;
  }
  x.n_begin = keys.begin / kBlockN;
  x.n_end = keys.end > keys.begin ? ceil_div(keys.end, kBlockN) : x.n_begin;
  if constexpr ((kFlags & kFlagSplit) != 0) {
    const SplitBlocks sb = split_key_blocks(ceil_div(x.s.seqlen_k, kBlockN), x.split, g.splits);
    x.n_begin = imax(x.n_begin, sb.begin);
    x.n_end = imax(x.n_begin, imin(x.n_end, sb.end));
  }
  return x;
}

}  // namespace fa3jit_k::sm90
