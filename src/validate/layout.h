// The problem's sizes, read from q / k / v / cu_seqlens / page_table after
// checking their dtypes, ranks and the shapes they must share.
#pragma once
#include <string>

#include "fa3jit/args.h"

namespace fa3jit::detail {

struct Layout {
  int batch = 0;           // b
  std::string batch_from;  // where b came from, for messages ("cu_seqlens_q.shape[0] - 1")
  int h = 0, h_k = 0, d = 0, dv = 0;
  bool q_is_4d = false;  // (b, s_q, h, d): no cu_seqlens_q
  int s_q = 0;           // 4-D q only
  int total_q = 0;       // q rows: q.shape[0], or b * s_q for 4-D q
  bool paged = false;    // page_table given
  bool k_is_4d = false;  // (b, s_k, h_k, d): neither paged nor cu_seqlens_k
  int s_k = 0;           // 4-D k only
  int total_k = 0;       // rows of a packed 3-D k
  int num_pages = 0, page_size = 0, max_pages_per_seq = 0;  // paged only
};

// q / k / v dtypes (q: fp16, bf16, fp8 e4m3, fp32 on the CPU only; k, v: q's),
// ranks and shared dims, cu_seqlens_q / cu_seqlens_k / page_table shapes,
// GQA head counts and the supported head dims.
Layout check_layout(const VarlenArgs& args);

}  // namespace fa3jit::detail
