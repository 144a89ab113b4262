// The checked shapes of a flash_attn_with_kvcache call, and the host copies
// of its int32 metadata (read when the values can be checked).
#pragma once
#include <cstdint>
#include <vector>

#include "fa3jit/kvcache.h"

namespace fa3jit::detail {

struct KvcacheLayout {
  int batch = 0;
  bool q_is_4d = false;
  int s_q = 0, total_q = 0;
  int h = 0, h_k = 0, d = 0, dv = 0;
  bool paged = false;
  int b_cache = 0, s_cache = 0;                             // dense caches
  int num_pages = 0, page_size = 0, max_pages_per_seq = 0;  // paged caches
  int64_t capacity = 0;                                     // keys one sequence's cache row (or pages) can hold
  bool append = false;                                      // k / v given
  bool new_is_4d = false;
  int s_new = 0, total_new = 0;
  int rotary_dim = 0, seqlen_ro = 0;  // rotary_dim 0: no rotary
  // Rotary position of query i: base + i when causal or local (window or
  // attention_chunk), else base for every query (FlashAttention-3's rule).
  bool rotary_q_per_row = false;
};

// Dtypes, ranks, shapes, devices and the combinations of the arguments.
// Throws fa3jit::Error naming the argument and the rule.
KvcacheLayout check_kvcache_args(const KvcacheArgs& args);

// scheduler_metadata's words (kvcache.h), checked: a host int32 (4,)
// tensor from get_scheduler_metadata, and num_splits / pack_gqa, when also
// given, equal to its plan.
SchedulerMetadata check_scheduler_metadata(const KvcacheArgs& args);

struct KvcacheMeta {
  bool readable = false;  // false: GPU tensors with check_metadata off
  std::vector<int32_t> cu_seqlens_q, cu_seqlens_k_new, cache_seqlens, cache_batch_idx, cache_leftpad, rotary_seqlens;
  std::vector<int32_t> page_table;  // row b at b * page_table_stride
  int64_t page_table_stride = 0;

  int new_tokens(const KvcacheLayout& L, int b) const;
  int cached_tokens(const KvcacheArgs& a, const KvcacheLayout& L, int b) const;
  int query_rows(const KvcacheLayout& L, int b) const;
};

// Reads the metadata (CUDA: stream-ordered copies, then one sync; refused
// while the stream is captured) and checks its values: offsets, lengths
// within the cache, cache rows, left padding, page ids, rotary positions.
KvcacheMeta read_and_check_kvcache_metadata(const KvcacheArgs& args, const KvcacheLayout& L, void* stream);

}  // namespace fa3jit::detail
