// Where sequence b's queries and keys are, and how many of them are real.
// One definition for every path (varlen, fixed-length 4-D, seqused, paged).
#pragma once
#include "params.cuh"

namespace fa3jit_k {

struct SeqInfo {
  int q_start;   // first row of this sequence in the packed q dim (0 for 4-D q)
  int seqlen_q;  // real query rows (seqused_q if given)
  int k_start;   // first key row in the packed k dim (0 for 4-D or paged k)
  int seqlen_k;  // real keys (seqused_k if given)
};

FA3JIT_HD SeqInfo seq_info(const AttnParams& p, int b) {
  SeqInfo s;
  if (p.cu_seqlens_q) {
    s.q_start = p.cu_seqlens_q[b];
    s.seqlen_q = p.cu_seqlens_q[b + 1] - s.q_start;
  } else {
    s.q_start = 0;
    s.seqlen_q = p.max_seqlen_q;
  }
  if (p.seqused_q) s.seqlen_q = p.seqused_q[b];
  if (p.cu_seqlens_k) {
    // Paged: cu_seqlens_k only gives lengths; the page table gives places.
    s.k_start = p.page_table ? 0 : p.cu_seqlens_k[b];
    s.seqlen_k = p.cu_seqlens_k[b + 1] - p.cu_seqlens_k[b];
  } else {
    s.k_start = 0;
    s.seqlen_k = p.max_seqlen_k;
  }
  if (p.seqused_k) s.seqlen_k = p.seqused_k[b];
  if (p.leftpad_k) {  // FA3's convention: seqused_k counts the left padding too
    const int pad = p.leftpad_k[b];
    s.k_start += pad;
    s.seqlen_k -= pad;
  }
  return s;
}

// Element offset of query row r (within its sequence) of head hh.
FA3JIT_HD int64_t q_offset(const AttnParams& p, const SeqInfo& s, int b, int r, int hh) {
  return b * p.q_batch_stride + int64_t(s.q_start + r) * p.q_row_stride + hh * p.q_head_stride;
}
FA3JIT_HD int64_t qv_offset(const AttnParams& p, const SeqInfo& s, int b, int r, int hh) {
  return b * p.qv_batch_stride + int64_t(s.q_start + r) * p.qv_row_stride + hh * p.qv_head_stride;
}
FA3JIT_HD int64_t out_offset(const AttnParams& p, const SeqInfo& s, int b, int r, int hh) {
  return b * p.o_batch_stride + int64_t(s.q_start + r) * p.o_row_stride + hh * p.o_head_stride;
}
FA3JIT_HD int64_t lse_offset(const AttnParams& p, const SeqInfo& s, int b, int r, int hh) {
  return b * p.lse_batch_stride + hh * p.lse_head_stride + int64_t(s.q_start + r) * p.lse_row_stride;
}

// Element offsets of key token t of sequence b, kv-head hk, for K and V.
// Paged KV: token t is row (t % page_size) of page page_table[b][t / page_size].
struct KvRow {
  int64_t k, v;
};
// Row `row` of page `page`, kv-head hk (the page stride is the batch stride).
FA3JIT_HD int64_t paged_k_offset(const AttnParams& p, int page, int row, int hk) {
  return page * p.k_batch_stride + int64_t(row) * p.k_row_stride + hk * p.k_head_stride;
}
FA3JIT_HD int64_t paged_v_offset(const AttnParams& p, int page, int row, int hk) {
  return page * p.v_batch_stride + int64_t(row) * p.v_row_stride + hk * p.v_head_stride;
}
FA3JIT_HD KvRow kv_offset(const AttnParams& p, const SeqInfo& s, int b, int t, int hk) {
  KvRow o;
  if (p.page_table) {
    const int page = p.page_table[b * p.page_table_stride + t / p.page_size];
    const int row = t % p.page_size;
    o.k = paged_k_offset(p, page, row, hk);
    o.v = paged_v_offset(p, page, row, hk);
  } else {
    const int64_t kb = p.kv_batch_idx ? p.kv_batch_idx[b] : b;
    o.k = kb * p.k_batch_stride + int64_t(s.k_start + t) * p.k_row_stride + hk * p.k_head_stride;
    o.v = kb * p.v_batch_stride + int64_t(s.k_start + t) * p.v_row_stride + hk * p.v_head_stride;
  }
  return o;
}

// The kv-head that query head hh reads (GQA / MQA).
FA3JIT_HD int kv_head_of(const AttnParams& p, int hh) { return hh / (p.h / p.h_k); }

}  // namespace fa3jit_k
