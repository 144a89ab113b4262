// Masks (causal, sliding window, attention chunk) as one rule: every query
// row sees one contiguous range of keys. Masks are aligned bottom-right:
// query row r has key coordinate c = r + seqlen_k - seqlen_q.
//   window:  [c - left, c + right]   (-1 = unbounded on that side; causal: right = 0)
//   chunk:   [floor(c / chunk) * chunk, + chunk)
// intersected with each other and with [0, seqlen_k).
#pragma once
#include "params.cuh"

namespace fa3jit_k {

struct KeyRange {
  int begin;  // first visible key
  int end;    // one past the last visible key; end <= begin: row sees no key
};

struct MaskSpec {
  int window_left, window_right, chunk;
};

FA3JIT_HD MaskSpec mask_spec(const AttnParams& p) {
  MaskSpec m;
  m.window_left = p.window_left;
  m.window_right = p.is_causal ? 0 : p.window_right;
  m.chunk = p.attention_chunk;
  return m;
}

FA3JIT_HD KeyRange key_range(const MaskSpec& m, int r, int seqlen_q, int seqlen_k) {
  const int c = r + seqlen_k - seqlen_q;
  // 64-bit so that c - left cannot overflow for huge windows.
  int64_t lo = 0, hi = seqlen_k;  // [lo, hi)
  if (m.window_left >= 0 && int64_t(c) - m.window_left > lo) lo = int64_t(c) - m.window_left;
  if (m.window_right >= 0 && int64_t(c) + m.window_right + 1 < hi) hi = int64_t(c) + m.window_right + 1;
  if (m.chunk > 0) {
    const int64_t start = int64_t(floor_div(c, m.chunk)) * m.chunk;
    if (start > lo) lo = start;
    if (start + m.chunk < hi) hi = start + m.chunk;
  }
  KeyRange k;
  k.begin = int(lo);
  k.end = int(hi < lo ? lo : hi);
  return k;
}

// Keys that any row of [r_begin, r_end) may see (the ranges are monotone
// in r, so the union is [range(first).begin, range(last).end) up to gaps
// that the per-element mask removes). Used to skip whole key blocks.
FA3JIT_HD KeyRange key_range_of_rows(const MaskSpec& m, int r_begin, int r_end, int seqlen_q,
                                     int seqlen_k) {
  KeyRange a = key_range(m, r_begin, seqlen_q, seqlen_k);
  KeyRange b = key_range(m, r_end - 1, seqlen_q, seqlen_k);
  KeyRange k;
  k.begin = a.begin < b.begin ? a.begin : b.begin;
  k.end = a.end > b.end ? a.end : b.end;
  if (k.end < k.begin) k.end = k.begin;
  return k;
}

FA3JIT_HD bool key_visible(const KeyRange& k, int j) { return j >= k.begin && j < k.end; }

}  // namespace fa3jit_k
