// A host model of the sm90 kernel's persistent tile walk (kernels/sm90/
// tile_sched.cuh, the same tile_at the producer and consumers call): over
// random varlen, seqused and fixed-length batches, GQA packing, 1 or 2
// consumer warpgroups, split-KV, masks, L2 group and grid sizes it checks that
//  - every tile index is taken by exactly one CTA (snake order);
//  - every (query row, q-head, split) of every sequence is written by
//    exactly one tile, and no row past a sequence's end (the combine reads
//    every split's partial of every real row);
//  - a tile's key blocks lie inside its sequence; the splits of an m-block
//    cut its key blocks into disjoint pieces whose union is the unsplit
//    range, and that range holds every key a row of the tile sees; a block
//    the consumer takes as full (no per-element mask) holds only keys that
//    every row of the tile sees;
//  - the producer's loads (Q per tile with key blocks, K/V per block) equal
//    what the consumers wait for, CTA by CTA;
//  - pack_gqa's q-heads divide the tile the dispatch picks (the Q TMA box
//    is tile_rows / hpack rows of hpack heads).
// No GPU needed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "../../kernels/sm90/tile_sched.cuh"
#include "dispatch/sm90_specs.h"

namespace fa3jit::testing {
namespace {

namespace k = fa3jit_k::sm90;
using fa3jit_k::AttnParams;

struct Batch {
  std::vector<int32_t> cu_q, cu_k, used_q, used_k;  // used_*: seqused (<= the lengths)
  int max_q = 0, max_k = 0;
};

Batch random_batch(std::mt19937& rng, int batch) {
  Batch b;
  b.cu_q = {0};
  b.cu_k = {0};
  for (int i = 0; i < batch; ++i) {
    const int sq = std::uniform_int_distribution<int>(0, 3)(rng) == 0 ? 0 : std::uniform_int_distribution<int>(1, 300)(rng);
    const int sk = std::uniform_int_distribution<int>(0, 4)(rng) == 0 ? std::uniform_int_distribution<int>(0, 3)(rng)
                                                                      : std::uniform_int_distribution<int>(1, 1200)(rng);
    b.cu_q.push_back(b.cu_q.back() + sq);
    b.cu_k.push_back(b.cu_k.back() + sk);
    b.max_q = std::max(b.max_q, sq);
    b.max_k = std::max(b.max_k, sk);
    b.used_q.push_back(std::uniform_int_distribution<int>(0, sq)(rng));
    b.used_k.push_back(std::uniform_int_distribution<int>(0, sk)(rng));
  }
  return b;
}

// Walks the tile list as every CTA of the grid does and checks the
// properties above; `what` names the configuration in failures.
template <int kBlockN, int kMask, int kFlags>
void check_walk(const AttnParams& p, int group, int ctas, const std::string& what) {
  constexpr int kBM = k::block_m_of(kFlags);
  const k::TileGrid g = k::tile_grid<kFlags>(p, group);
  const fa3jit_k::MaskSpec ms = fa3jit_k::mask_spec(p);
  std::vector<int> taken(size_t(g.count), 0);
  std::map<std::tuple<int, int, int, int>, int> writes;                     // (b, r, hh, split) -> times
  std::map<std::tuple<int, int, int>, std::vector<std::pair<int, int>>> blocks;  // (b, head, m) -> split ranges
  for (int cta = 0; cta < ctas; ++cta) {
    int q_loads = 0, kv_loads = 0, q_waits = 0, kv_waits = 0;
    for (int round = 0; round * ctas < g.count; ++round) {
      const int t = k::tile_of_round(round, cta, ctas);
      if (t >= g.count) continue;
      ++taken[size_t(t)];
      const k::Tile x = k::tile_at<kBlockN, kMask, kFlags>(p, g, t);
      // the producer (producer.cuh)
      if (x.valid && x.n_end > x.n_begin) {
        ++q_loads;
        kv_loads += x.n_end - x.n_begin;
      }
      // the consumers (consumer.cuh)
      if (!x.valid) continue;
      if (x.n_end > x.n_begin) {
        ++q_waits;
        kv_waits += x.n_end - x.n_begin;
      }
      const int n_blocks = fa3jit_k::ceil_div(x.s.seqlen_k, kBlockN);
      ASSERT_TRUE(x.n_begin >= 0 && x.n_begin <= x.n_end && x.n_end <= n_blocks)
          << what << ": tile " << t << " blocks [" << x.n_begin << ", " << x.n_end << ") of " << n_blocks;
      std::vector<std::pair<int, int>>& pieces = blocks[{x.b, x.head, x.m_block}];
      if (x.n_end > x.n_begin) pieces.push_back({x.n_begin, x.n_end});
      for (int pr = x.m_block * kBM; pr < std::min(x.m_block * kBM + kBM, x.rows_total); ++pr) {
        const int r = pr / g.hpack, hh = g.hpack > 1 ? x.hk * g.hpack + pr % g.hpack : x.head;
        ++writes[{x.b, r, hh, x.split}];
        // every key the row sees is in the tile's blocks (split: in the union, checked below)
        const fa3jit_k::KeyRange kr = kMask == k::kMaskNone ? fa3jit_k::KeyRange{0, x.s.seqlen_k}
                                                            : fa3jit_k::key_range(ms, r, x.s.seqlen_q, x.s.seqlen_k);
        // a block the consumer takes as full (no per-element mask) holds only keys the row sees
        for (int n = x.n_begin; n < x.n_end; ++n) {
          const bool full = n * kBlockN >= x.full_begin && (n + 1) * kBlockN <= x.full_end;
          if (full) {
            ASSERT_TRUE(kr.begin <= n * kBlockN && (n + 1) * kBlockN <= kr.end)
                << what << ": block " << n << " taken as full, but row " << r << " sees only [" << kr.begin << ", "
                << kr.end << ")";
          }
        }
        if (kr.end > kr.begin && g.splits == 1) {
          ASSERT_TRUE(kr.begin >= x.n_begin * kBlockN && kr.end <= x.n_end * kBlockN)
              << what << ": row " << r << " sees [" << kr.begin << ", " << kr.end << "), tile loads blocks ["
              << x.n_begin << ", " << x.n_end << ")";
        }
      }
    }
    ASSERT_EQ(q_loads, q_waits) << what << ": CTA " << cta;
    ASSERT_EQ(kv_loads, kv_waits) << what << ": CTA " << cta;
  }
  for (int t = 0; t < g.count; ++t) ASSERT_EQ(taken[size_t(t)], 1) << what << ": tile " << t;
  // every real row of every q-head, once per split
  size_t expected = 0;
  for (int b = 0; b < p.batch; ++b) {
    const fa3jit_k::SeqInfo s = fa3jit_k::seq_info(p, b);
    expected += size_t(s.seqlen_q) * size_t(p.h) * size_t(g.splits);
    for (int r = 0; r < s.seqlen_q; ++r)
      for (int hh = 0; hh < p.h; ++hh)
        for (int sp = 0; sp < g.splits; ++sp) {
          const auto it = writes.find({b, r, hh, sp});
          ASSERT_TRUE(it != writes.end() && it->second == 1)
              << what << ": (b " << b << ", row " << r << ", head " << hh << ", split " << sp << ") written "
              << (it == writes.end() ? 0 : it->second) << " times";
        }
  }
  ASSERT_EQ(writes.size(), expected) << what << ": rows written past a sequence's end";
  // the splits of an m-block: disjoint, ordered pieces of the unsplit range
  if (g.splits > 1) {
    AttnParams unsplit = p;
    unsplit.num_splits = 1;
    const k::TileGrid g1 = k::tile_grid<kFlags & ~k::kFlagSplit>(unsplit, group);
    for (int t = 0; t < g1.count; ++t) {
      const k::Tile x = k::tile_at<kBlockN, kMask, kFlags & ~k::kFlagSplit>(unsplit, g1, t);
      if (!x.valid) continue;
      std::vector<std::pair<int, int>> pieces = blocks[{x.b, x.head, x.m_block}];
      std::sort(pieces.begin(), pieces.end());
      int at = x.n_begin;
      for (const auto& [b0, b1] : pieces) {
        ASSERT_EQ(b0, at) << what << ": split pieces of (b " << x.b << ", head " << x.head << ", m " << x.m_block
                          << ") leave a gap or overlap at block " << at;
        at = b1;
      }
      ASSERT_EQ(at, pieces.empty() ? x.n_begin : x.n_end) << what << ": splits end at block " << at << ", not "
                                                          << x.n_end;
      if (pieces.empty()) {
        ASSERT_EQ(x.n_begin, x.n_end) << what;
      }
    }
  }
}

template <int kBlockN, int kMask, int kFlags>
void check_random(uint32_t seed) {
  std::mt19937 rng(seed);
  for (int iter = 0; iter < 40; ++iter) {
    const int batch = std::uniform_int_distribution<int>(1, 5)(rng);
    Batch bt = random_batch(rng, batch);
    const int ratios[] = {2, 4, 8, 16};
    const int ratio = (kFlags & k::kFlagPackGqa) ? ratios[iter % 4] : 1 + iter % 3;
    const int h_k = 1 + iter % 2;
    AttnParams p{};
    p.batch = batch;
    p.h_k = h_k;
    p.h = h_k * ratio;
    p.cu_seqlens_q = bt.cu_q.data();
    p.cu_seqlens_k = bt.cu_k.data();
    p.max_seqlen_q = bt.max_q;
    p.max_seqlen_k = bt.max_k;
    p.total_q = bt.cu_q.back();
    if (iter % 5 == 2) {  // seqused_q / seqused_k: fewer real rows and keys than the cu_seqlens say
      p.seqused_q = bt.used_q.data();
      p.seqused_k = bt.used_k.data();
    } else if (iter % 5 == 4) {  // fixed length (4-D q and k)
      p.cu_seqlens_q = p.cu_seqlens_k = nullptr;
      p.total_q = batch * bt.max_q;
    }
    p.num_splits = (kFlags & k::kFlagSplit) ? std::uniform_int_distribution<int>(2, 9)(rng) : 1;
    p.window_left = p.window_right = -1;
    if (kMask == k::kMaskCausal) p.is_causal = 1;
    if (kMask == k::kMaskLocal) {
      p.window_left = std::uniform_int_distribution<int>(0, 300)(rng);
      p.window_right = iter % 3 == 0 ? -1 : std::uniform_int_distribution<int>(0, 100)(rng);
      p.attention_chunk = iter % 4 == 1 ? 96 : 0;
    }
    const int pairs = (kFlags & k::kFlagPackGqa ? p.h_k : p.h) * batch;
    const int group = std::uniform_int_distribution<int>(1, pairs + 1)(rng);
    const int ctas = std::uniform_int_distribution<int>(1, 40)(rng);
    const std::string what = "block_n " + std::to_string(kBlockN) + " mask " + std::to_string(kMask) + " flags " +
                             std::to_string(kFlags) + " seed " + std::to_string(seed) + " iter " +
                             std::to_string(iter) + " (h " + std::to_string(p.h) + "/" + std::to_string(p.h_k) +
                             ", splits " + std::to_string(p.num_splits) + ", group " + std::to_string(group) +
                             ", CTAs " + std::to_string(ctas) + ")";
    check_walk<kBlockN, kMask, kFlags>(p, group, ctas, what);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

constexpr int kSplit = k::kFlagSplit, kPack = k::kFlagPackGqa, kOneWg = k::kFlagOneWarpgroup;

TEST(Sm90Tiles, WalkCoversEveryRowOnceAndKeepsCountersInStep) {
  check_random<128, k::kMaskNone, 0>(1);
  check_random<128, k::kMaskCausal, 0>(2);
  check_random<80, k::kMaskLocal, 0>(3);
  check_random<128, k::kMaskCausal, kPack>(4);
  check_random<64, k::kMaskNone, kOneWg>(5);
  check_random<128, k::kMaskCausal, kOneWg | kPack>(6);
}

TEST(Sm90Tiles, SplitsCutKeyBlocksIntoDisjointPieces) {
  check_random<128, k::kMaskNone, kSplit>(11);
  check_random<128, k::kMaskCausal, kSplit>(12);
  check_random<64, k::kMaskLocal, kSplit>(13);
  check_random<128, k::kMaskCausal, kSplit | kPack>(14);
  check_random<64, k::kMaskCausal, kSplit | kOneWg | kPack>(15);
  check_random<192, k::kMaskLocal, kSplit | kOneWg>(16);
}

// The Q TMA box of a packed tile is (tile rows / hpack) rows of hpack heads:
// hpack must divide the tile the dispatch picks (64 rows for one consumer
// warpgroup, else 128), for every GQA ratio and query length (max_seqlen_q
// = 0 has no tile: run_sm90 returns before it encodes the box).
TEST(Sm90Tiles, PackedHeadsDivideTheTile) {
  for (int h_k : {1, 2, 3})
    for (int ratio = 1; ratio <= 256; ++ratio)
      for (int max_q = 1; max_q <= 130; ++max_q) {
        const int h = h_k * ratio;
        const bool pack = detail::sm90_can_pack(h, h_k);
        const int hpack = pack ? ratio : 1;
        const int rows = 64 * detail::sm90_consumer_warpgroups(int64_t(max_q) * hpack);
        ASSERT_EQ(rows % hpack, 0) << "h " << h << " h_k " << h_k << " max_seqlen_q " << max_q;
      }
}

}  // namespace
}  // namespace fa3jit::testing
