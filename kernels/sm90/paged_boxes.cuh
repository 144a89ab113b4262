// Where the TMA boxes of one K/V block come from on a paged cache, shared by
// the sm90 producer and its host model (tests/cpp/test_sm90_paged_boxes.cpp).
// Pages that hold whole key blocks: one box of the block's rows, inside one
// page. Pages smaller than the block (a multiple of 8 rows dividing it): one
// box per page, into consecutive row ranges of the block's buffer; with the
// 128-byte swizzle (repeating every 8 rows of 128 bytes) a box that starts
// at a multiple of 8 rows lands where one whole-block box would put it. The
// block's bytes arrive either way, so the mbarrier expects the same count.
// Host- and device-compilable.
#pragma once
#include "../common/platform.cuh"

namespace fa3jit_k::sm90 {

// Whether TMA loads the K/V blocks of pages of `page_size` keys: pages
// holding whole blocks, or whole 8-row swizzle patterns tiling the block
// (a box must start on a 1024-byte swizzle pattern). Other pages (1, 12,
// 100, ...) are gathered row by row with cp.async (producer.cuh).
FA3JIT_HD constexpr bool paged_by_tma(int page_size, int block_n) {
  return page_size > 0 && (page_size % block_n == 0 || (page_size % 8 == 0 && block_n % page_size == 0));
}

// Rows of one box: the key block, or one page when pages are smaller.
FA3JIT_HD constexpr int paged_box_rows(int block_n, int page_size) {
  return page_size < block_n ? page_size : block_n;
}

struct PagedBox {
  int table_col;  // page_table[b][table_col] holds the page id
  int page_row;   // the box's first row inside that page
  int smem_row;   // the box's first row in the block's buffer
};

// Box j of the key block whose first key is t0, for a sequence of seqlen_k
// (> t0) keys. A box past the sequence's last page reloads that last page
// (the page table may end at the sequence's pages): its keys are masked and
// its V rows zeroed like any key past the end (zero_v_tail, fp8's
// transpose_v), and the box's bytes still arrive.
FA3JIT_HD PagedBox paged_box(int t0, int j, int box_rows, int page_size, int seqlen_k) {
  const int t = t0 + j * box_rows;
  const int last_col = (seqlen_k - 1) / page_size;
  const int col = t / page_size;
  return PagedBox{col < last_col ? col : last_col, t % page_size, j * box_rows};
}

}  // namespace fa3jit_k::sm90
