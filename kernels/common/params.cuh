// AttnParams: the validated, normalized problem that every path (CPU
// backend, sm80, sm90) consumes. Plain data only, identical layout on the
// host and in NVRTC-compiled kernels. Built by src/validate.
#pragma once
#include "platform.cuh"

namespace fa3jit_k {

// Element type codes (same numbering as fa3jit::DType).
enum : int { kF32 = 0, kF16 = 1, kBF16 = 2, kFP8E4M3 = 3, kI32 = 4 };

struct AttnParams {
  // ---- sizes
  int batch;        // b
  int h, h_k;       // query heads, key/value heads (h % h_k == 0)
  int d, dv;        // head dims of q/k and of v/out
  int max_seqlen_q, max_seqlen_k;
  int total_q;      // rows of the packed q (b * s_q for 4-D q)
  int in_dtype;     // dtype of q, k, v (and qv)
  int out_dtype;    // dtype of out (bf16 for fp8 input)

  // ---- q / qv / out: row r of sequence b, head hh lives at
  //      base + b*batch_stride + (row_start(b) + r)*row_stride + hh*head_stride
  //      row_start(b) = cu_seqlens_q ? cu_seqlens_q[b] : 0
  const void* q; int64_t q_batch_stride, q_row_stride, q_head_stride;
  const void* qv; int64_t qv_batch_stride, qv_row_stride, qv_head_stride;
  void* out; int64_t o_batch_stride, o_row_stride, o_head_stride;

  // ---- k / v. Not paged: like q with cu_seqlens_k. Paged: token t of
  //      sequence b is row (t % page_size) of page page_table[b][t / page_size],
  //      and batch_stride is the page stride.
  const void* k; int64_t k_batch_stride, k_row_stride, k_head_stride;
  const void* v; int64_t v_batch_stride, v_row_stride, v_head_stride;

  // ---- sequence metadata (int32; device pointers on a GPU)
  const int* cu_seqlens_q;  // null: fixed length max_seqlen_q (4-D q)
  const int* cu_seqlens_k;  // null: fixed length max_seqlen_k (4-D k) unless seqused_k
  const int* seqused_q;     // null: all rows of the sequence are real
  const int* seqused_k;     // null: all keys are real
  const int* page_table;    // null: not paged
  int64_t page_table_stride;  // elements between rows of page_table
  int page_size;
  int num_pages;
  int max_pages_per_seq;
  // Decode (flash_attn_with_kvcache). kv_batch_idx[b]: the k/v batch row of
  // sequence b (cache_batch_idx; null = b; not paged). leftpad_k[b]: keys
  // before it are padding (cache_leftpad; null = 0): sequence b's keys are
  // rows [leftpad_k[b], seqused_k[b]) of its k/v row. Null on other paths.
  const int* kv_batch_idx;
  const int* leftpad_k;

  // ---- scores: s = softmax_scale * descale_q * descale_k * (q.k [+ qv.v]),
  //      then softcap * tanh(s / softcap) when softcap > 0
  float softmax_scale;
  float softcap;  // 0 = off
  const float* q_descale; int64_t q_descale_b_stride, q_descale_h_stride;  // (b, h_k)
  const float* k_descale; int64_t k_descale_b_stride, k_descale_h_stride;
  const float* v_descale; int64_t v_descale_b_stride, v_descale_h_stride;
  int only_qv;  // 1: s uses qv.v only

  // ---- mask (normalized: causal is window_right == 0 with is_causal set)
  int is_causal;
  int window_left;   // -1 = unbounded
  int window_right;  // -1 = unbounded
  int attention_chunk;  // 0 = off

  // ---- sinks (h), fp32 or bf16; null = none
  const void* sinks; int sinks_dtype;

  // ---- LSE, fp32: element (b, hh, r) at lse + b*lse_batch_stride +
  //      hh*lse_head_stride + (row_start(b) + r)*lse_row_stride. null = not wanted
  float* lse; int64_t lse_batch_stride, lse_head_stride, lse_row_stride;

  // ---- scheduling
  int num_splits;  // >= 1 after normalization (auto resolved)
  int pack_gqa;    // 0/1 after normalization
};

}  // namespace fa3jit_k
