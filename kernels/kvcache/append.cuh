// The append + rotary step of flash_attn_with_kvcache: where new token j of
// sequence b comes from and goes to, where query row i is, and its rotary
// position. Plain data and FA3JIT_HD addressing, shared by the CPU loops
// (src/kvcache/append_cpu.cpp) and the GPU kernel (append_rotary.cu).
#pragma once
#include "../common/platform.cuh"

namespace fa3jit_k {

struct AppendParams {
  int batch, h, h_k, d, dv;
  int in_dtype;  // q / k / v / cache dtype (fa3jit::DType numbering)

  // q: row i of sequence b, head hh at b*batch + (row_start + i)*row + hh*head
  const void* q;
  int64_t q_batch_stride, q_row_stride, q_head_stride;
  const int* cu_seqlens_q;  // null: 4-D q, s_q rows per sequence
  int s_q, total_q;
  void* q_rot;  // null: no rotary; else contiguous (total_q, h, d), row = global q row

  // New tokens (null k_new: nothing to append): like q with cu_seqlens_k_new.
  const void* k_new;
  int64_t kn_batch_stride, kn_row_stride, kn_head_stride;
  const void* v_new;
  int64_t vn_batch_stride, vn_row_stride, vn_head_stride;
  const int* cu_seqlens_k_new;  // null: s_new tokens per sequence
  int s_new, total_new;

  // The caches: dense (batch row, position) or paged (page, row in page).
  void* k_cache;
  int64_t kc_batch_stride, kc_row_stride, kc_head_stride;
  void* v_cache;
  int64_t vc_batch_stride, vc_row_stride, vc_head_stride;
  const int* page_table;
  int64_t page_table_stride;
  int page_size;
  const int* cache_batch_idx;  // null: sequence b uses cache row b
  const int* cache_seqlens;    // null: cache_seqlens_value for every sequence
  int cache_seqlens_value;

  // Rotary (rotary_dim == 0: none). cos / sin rows of rotary_dim / 2.
  const void* rotary_cos;
  const void* rotary_sin;
  int64_t cos_row_stride, sin_row_stride;
  int rotary_dim, rotary_interleaved;
  const int* rotary_seqlens;  // null: the base position is cache_seqlens
  int q_rotary_per_row;       // 1 (causal / local): query i at base + i; 0: every query at base

  int* seqused_k;  // out: cache_seqlens + new tokens, per sequence (null: not wanted)
};

// Sequence of global row t of a packed layout (cu: b + 1 offsets) or of a
// fixed one (len rows each); *j = row within the sequence.
FA3JIT_HD int locate_row(const int* cu, int batch, int len, int t, int* j) {
  if (!cu) {
    *j = t % len;
    return t / len;
  }
  int lo = 0, hi = batch - 1;  // the last b with cu[b] <= t (empty sequences skipped)
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (cu[mid] <= t)
      lo = mid;
    else
      hi = mid - 1;
  }
  *j = t - cu[lo];
  return lo;
}

FA3JIT_HD int new_tokens(const AppendParams& p, int b) {
  if (!p.k_new) return 0;
  return p.cu_seqlens_k_new ? p.cu_seqlens_k_new[b + 1] - p.cu_seqlens_k_new[b] : p.s_new;
}
FA3JIT_HD int cached_tokens(const AppendParams& p, int b) {
  return p.cache_seqlens ? p.cache_seqlens[b] : p.cache_seqlens_value;
}
FA3JIT_HD int rotary_base(const AppendParams& p, int b) {
  return p.rotary_seqlens ? p.rotary_seqlens[b] : cached_tokens(p, b);
}

// Element offsets of new token j of sequence b, kv-head hk.
FA3JIT_HD int64_t k_new_offset(const AppendParams& p, int b, int j, int hk) {
  const int64_t row = p.cu_seqlens_k_new ? int64_t(p.cu_seqlens_k_new[b]) + j : j;
  return b * p.kn_batch_stride + row * p.kn_row_stride + hk * p.kn_head_stride;
}
FA3JIT_HD int64_t v_new_offset(const AppendParams& p, int b, int j, int hk) {
  const int64_t row = p.cu_seqlens_k_new ? int64_t(p.cu_seqlens_k_new[b]) + j : j;
  return b * p.vn_batch_stride + row * p.vn_row_stride + hk * p.vn_head_stride;
}

// Element offsets of cache position pos (counted from the row's start) of
// sequence b, kv-head hk.
struct CacheSlot {
  int64_t k, v;
};
FA3JIT_HD CacheSlot cache_slot(const AppendParams& p, int b, int pos, int hk) {
  int64_t kb, vb;
  int row = pos;
  if (p.page_table) {
    const int64_t page = p.page_table[b * p.page_table_stride + pos / p.page_size];
    row = pos % p.page_size;
    kb = page * p.kc_batch_stride;
    vb = page * p.vc_batch_stride;
  } else {
    const int64_t cb = p.cache_batch_idx ? p.cache_batch_idx[b] : b;
    kb = cb * p.kc_batch_stride;
    vb = cb * p.vc_batch_stride;
  }
  return {kb + int64_t(row) * p.kc_row_stride + hk * p.kc_head_stride,
          vb + int64_t(row) * p.vc_row_stride + hk * p.vc_head_stride};
}

// Query row i of sequence b, head hh: its input offset and its rotary position.
FA3JIT_HD int64_t q_in_offset(const AppendParams& p, int b, int i, int hh) {
  const int64_t row = p.cu_seqlens_q ? int64_t(p.cu_seqlens_q[b]) + i : i;
  return b * p.q_batch_stride + row * p.q_row_stride + hh * p.q_head_stride;
}
FA3JIT_HD int q_rotary_position(const AppendParams& p, int b, int i) {
  return rotary_base(p, b) + (p.q_rotary_per_row ? i : 0);
}

}  // namespace fa3jit_k
