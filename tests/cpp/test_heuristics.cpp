// The scheduling choices: splits fill the machine only when the grid is
// small, and never cut the keys into slivers; GQA packing only for decode.
#include <gtest/gtest.h>

#include <string>

#include "dispatch/heuristics.h"
#include "fa3jit/args.h"
#include "fa3jit/error.h"

namespace fa3jit::detail {
namespace {

SplitInputs decode(int batch, int heads, int seqlen_k) {
  return {.batch = batch, .heads = heads, .q_rows = 1, .max_seqlen_k = seqlen_k,
          .workers = 132, .tile_m = 64, .tile_n = 128};
}

// FA3JIT_SPLIT_MIN_BLOCKS: checked like an argument (a bad value names it).
TEST(HeuristicsSplits, SplitMinBlocksKnob) {
  EXPECT_EQ(split_min_blocks_from(nullptr), 1);
  EXPECT_EQ(split_min_blocks_from(""), 1);
  EXPECT_EQ(split_min_blocks_from("4"), 4);
  for (const char* bad : {"0", "-2", "four", "3x"}) {
    try {
      (void)split_min_blocks_from(bad);
      ADD_FAILURE() << bad << ": no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("FA3JIT_SPLIT_MIN_BLOCKS must be a positive integer"), std::string::npos)
          << e.what();
    }
  }
}

TEST(HeuristicsSplits, FullGridIsNotSplit) {
  // Prefill: 4 x 32 heads x 64 q-tiles is many waves.
  EXPECT_EQ(choose_num_splits({.batch = 4, .heads = 32, .q_rows = 4096, .max_seqlen_k = 4096,
                               .workers = 132, .tile_m = 64, .tile_n = 128}), 1);
  // Decode with 64 x 32 = 2048 units fills 132 SMs.
  EXPECT_EQ(choose_num_splits(decode(64, 32, 8192)), 1);
}

TEST(HeuristicsSplits, SmallGridLongKeysIsSplitToOneWave) {
  const int s = choose_num_splits(decode(1, 8, 131072));  // 8 units on 132 SMs
  EXPECT_EQ(s, 16);  // floor(132 / 8): 17 would start a second wave of 4 tiles
  EXPECT_LE(s * 8, 132);
  for (int units = 1; units < 105; ++units) {  // never past one wave
    const int n = choose_num_splits(decode(1, units, 1 << 20));
    EXPECT_LE(n * units, 132) << units;
    EXPECT_TRUE(n == 128 || (n + 1) * units > 132) << units;  // as full as it gets (or the cap)
  }
}

TEST(HeuristicsSplits, ShortKeysLimitSplits) {
  // 1024 keys = 8 blocks of 128: at most 8 splits of one block each (on
  // the H100, batch-1 decode with 1k keys: 8 splits 455 GB/s, 2 splits 371).
  EXPECT_EQ(choose_num_splits(decode(1, 8, 1024)), 8);
  EXPECT_EQ(choose_num_splits(decode(1, 8, 128)), 1);
  // The FA3JIT_SPLIT_MIN_BLOCKS knob: splits of at least 4 blocks.
  SplitInputs in = decode(1, 8, 1024);
  in.min_split_blocks = 4;
  EXPECT_EQ(choose_num_splits(in), 2);
}

// split_workspace_bytes_bound's premise: when auto splits (a call without
// splits needs no workspace), splits times the rows they split never
// exceed workers x tile_m (one wave of full tiles).
TEST(HeuristicsSplits, SplitRowsStayWithinOneWaveOfTiles) {
  for (int tile_m : {64, 128})
    for (int batch : {1, 2, 3, 7, 16, 33})
      for (int heads : {1, 2, 8, 32})
        for (int q_rows : {1, 2, 4, 8, 17, 64, 100, 128, 300})
          for (int keys : {1, 128, 1000, 8192, 131072}) {
            const SplitInputs in{.batch = batch, .heads = heads, .q_rows = q_rows, .max_seqlen_k = keys,
                                 .workers = 132, .tile_m = tile_m, .tile_n = 128};
            const int64_t rows = int64_t(batch) * heads * q_rows;
            const int splits = choose_num_splits(in);
            if (splits > 1) {
              EXPECT_LE(splits * rows, 132 * tile_m) << batch << " " << heads << " " << q_rows;
            }
          }
}

TEST(HeuristicsSplits, WorkspaceBoundIsSmsTimes128RowsOfDvPlusOneFloats) {
  DeviceInfo gpu;
  gpu.backend = Backend::CUDA;
  gpu.sm_count = 132;
  EXPECT_EQ(split_workspace_bytes_bound(gpu, 128), 132LL * 128 * 129 * 4);
  EXPECT_EQ(split_workspace_bytes_bound(DeviceInfo{}, 128), 0);  // the CPU keeps its own scratch
}

TEST(HeuristicsSplits, CappedAt128AndDegenerateInputs) {
  EXPECT_EQ(choose_num_splits({.batch = 1, .heads = 1, .q_rows = 1, .max_seqlen_k = 1 << 24,
                               .workers = 1000, .tile_m = 64, .tile_n = 128}), 128);
  EXPECT_EQ(choose_num_splits(decode(0, 8, 4096)), 1);
  EXPECT_EQ(choose_num_splits(decode(1, 8, 0)), 1);
}

// The sm90 decode kernel's shapes (64-row tiles, 128-key blocks, 8 packed
// kv-heads on an H100's 132 SMs): small batches split to about a wave,
// batches that fill the SMs do not.
TEST(HeuristicsSplits, Sm90PackedDecode) {
  EXPECT_EQ(choose_num_splits(decode(1, 8, 8192)), 16);   // floor(132 / 8), 4 blocks each
  EXPECT_EQ(choose_num_splits(decode(3, 8, 20000)), 5);   // floor(132 / 24)
  EXPECT_EQ(choose_num_splits(decode(17, 8, 20000)), 1);  // 136 units fill 132 SMs
  EXPECT_EQ(choose_num_splits(decode(64, 8, 8192)), 1);
}

TEST(HeuristicsPackGqa, OnlyForFewRowsAndRealGroups) {
  EXPECT_TRUE(choose_pack_gqa(1, 32, 8, 64));
  EXPECT_TRUE(choose_pack_gqa(8, 32, 8, 64));
  EXPECT_FALSE(choose_pack_gqa(1, 32, 32, 64));   // no group to pack
  EXPECT_FALSE(choose_pack_gqa(4096, 32, 8, 64)); // prefill fills tiles anyway
  // sm90 picks its tile (64 or 128 rows) from the packed rows: the choice
  // must not flip between the two tile sizes for rows that fit 64 packed
  for (int rows = 1; rows <= 32; ++rows)
    EXPECT_EQ(choose_pack_gqa(rows, 32, 16, 128), choose_pack_gqa(rows, 32, 16, 64)) << rows;
}

}  // namespace
}  // namespace fa3jit::detail
