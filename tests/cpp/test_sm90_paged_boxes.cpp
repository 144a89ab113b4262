// A host model of how the sm90 producer loads one K/V block from a paged
// cache (kernels/sm90/paged_boxes.cuh, the functions load_kv_block calls),
// for pages that hold whole key blocks and pages smaller than the block
// (8, 16, 32 keys), over every block of random sequence lengths (ends inside
// a page and on page boundaries). It checks that
//  - the boxes tile the block's buffer: every smem row filled exactly once,
//    so the block's bytes (what the mbarrier expects) arrive;
//  - every box starts at a multiple of 8 rows (1024 bytes: the 128-byte
//    swizzle pattern, as a whole-block box lays it out) and stays in a page;
//  - every key of the sequence lands in its row from its page and page row;
//  - the page-table entries read (the in-flight groups' padding included)
//    lie among the sequence's pages, never past them.
// No GPU needed. The dispatch rule: test_sm90_compile.cpp (Sm90Specs).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "../../kernels/sm90/paged_boxes.cuh"

namespace fa3jit::testing {
namespace {

namespace k = fa3jit_k::sm90;

// The table entries the producer reads for one block: lane j reads box j's
// (producer.cuh), one entry for a whole-block page.
std::vector<int> table_reads(int t0, int block_n, int page_size, int seqlen_k) {
  std::vector<int> cols;
  if (page_size >= block_n) return {t0 / page_size};
  for (int j = 0; j < block_n / page_size; ++j)
    cols.push_back(k::paged_box(t0, j, page_size, page_size, seqlen_k).table_col);
  return cols;
}

void check_block(int n, int block_n, int page_size, int seqlen_k) {
  const std::string where = "block " + std::to_string(n) + " of " + std::to_string(block_n) + " keys, page " +
                            std::to_string(page_size) + ", seqlen_k " + std::to_string(seqlen_k);
  const int t0 = n * block_n;
  const int box_rows = k::paged_box_rows(block_n, page_size);
  ASSERT_EQ(block_n % box_rows, 0) << where;
  const int last_col = (seqlen_k - 1) / page_size;
  std::vector<int> filled(size_t(block_n), 0);
  for (int j = 0; j < block_n / box_rows; ++j) {
    const k::PagedBox b = k::paged_box(t0, j, box_rows, page_size, seqlen_k);
    EXPECT_EQ(b.smem_row % 8, 0) << where << ", box " << j << ": not on a swizzle pattern (1024 bytes)";
    EXPECT_LE(b.page_row + box_rows, page_size) << where << ", box " << j << " crosses its page's end";
    EXPECT_GE(b.table_col, 0) << where;
    EXPECT_LE(b.table_col, last_col) << where << ", box " << j << " past the sequence's pages";
    for (int r = 0; r < box_rows; ++r) {
      const int row = b.smem_row + r;
      ASSERT_LT(row, block_n) << where;
      ++filled[size_t(row)];
      const int key = t0 + row;
      if (key < seqlen_k) {  // a real key: its page and row
        EXPECT_EQ(b.table_col, key / page_size) << where << ", key " << key;
        EXPECT_EQ(b.page_row + r, key % page_size) << where << ", key " << key;
      }
    }
  }
  for (int r = 0; r < block_n; ++r) EXPECT_EQ(filled[size_t(r)], 1) << where << ", smem row " << r;
  for (int col : table_reads(t0, block_n, page_size, seqlen_k)) {
    EXPECT_GE(col, 0) << where;
    EXPECT_LE(col, last_col) << where << ": reads page_table past the sequence's pages";
  }
}

TEST(Sm90PagedBoxes, BoxesTileTheBlockFromTheSequencesPages) {
  std::mt19937 rng(7);
  for (int block_n : {64, 128})
    for (int page_size : {8, 16, 32, 64, 128, 256}) {
      if (page_size % block_n != 0 && block_n % page_size != 0) continue;
      std::vector<int> lens = {1, 7, 8, 9, page_size, page_size + 1, 2 * page_size, block_n - 1, block_n, block_n + 8};
      for (int i = 0; i < 40; ++i) lens.push_back(std::uniform_int_distribution<int>(1, 2000)(rng));
      for (int len : lens)
        for (int n = 0; n * block_n < len; ++n) check_block(n, block_n, page_size, len);
    }
}

TEST(Sm90PagedBoxes, PagesSmallerThanTheBlockTakeOneBoxEach) {
  EXPECT_EQ(k::paged_box_rows(128, 16), 16);
  EXPECT_EQ(k::paged_box_rows(128, 128), 128);
  EXPECT_EQ(k::paged_box_rows(64, 256), 64);
  // The last block of 40 keys on pages of 16: boxes 3..7 reload page 2.
  for (int j = 0; j < 8; ++j) {
    const k::PagedBox b = k::paged_box(0, j, 16, 16, 40);
    EXPECT_EQ(b.table_col, j < 2 ? j : 2) << "box " << j;
    EXPECT_EQ(b.smem_row, 16 * j);
    EXPECT_EQ(b.page_row, 0);
  }
}

}  // namespace
}  // namespace fa3jit::testing
