// Where the reference finds each token: sequence lengths (cu_seqlens,
// seqused, 4-D, paged) and element offsets honoring the tensors' strides.
// Written from the user-level semantics of VarlenArgs (DESIGN.md), not from
// kernels/common, so that the oracle stays independent of what it judges.
#pragma once
#include <cstdint>

#include "fa3jit/args.h"

namespace fa3jit::reference::detail {

// One sequence of the batch.
struct Sequence {
  int64_t q_begin = 0;  // first packed q row (varlen q); 0 for 4-D q
  int q_rows = 0;       // rows the sequence owns in q / out
  int seqlen_q = 0;     // real queries: seqused_q, else q_rows
  int64_t k_begin = 0;  // first packed k row (varlen, not paged k); else 0
  int seqlen_k = 0;     // real keys: seqused_k, else cu_seqlens_k, else max_seqlen_k / 4-D length
};

class Layout {
 public:
  explicit Layout(const VarlenArgs& args);

  int batch = 0, h = 0, h_k = 0, d = 0, dv = 0;
  bool q_4d = false;    // q is (b, s_q, h, d)
  bool paged = false;   // k / v are (pages, page_size, h_k, d)
  int64_t q_rows_total = 0;  // rows of q per "batch slot": total_q (varlen) or s_q (4-D)

  Sequence sequence(int b) const;
  // Element offsets (in elements, strides honored) of dim 0 of a head vector.
  int64_t q_offset(const Sequence& s, int b, int r, int hh) const;
  int64_t qv_offset(const Sequence& s, int b, int r, int hh) const;
  int64_t k_offset(const Sequence& s, int b, int t, int hk) const;
  int64_t v_offset(const Sequence& s, int b, int t, int hk) const;
  int64_t q_dim_stride() const { return args_.q.stride[args_.q.ndim - 1]; }
  int64_t qv_dim_stride() const { return args_.qv.stride[args_.qv.ndim - 1]; }
  int64_t k_dim_stride() const { return args_.k.stride[args_.k.ndim - 1]; }
  int64_t v_dim_stride() const { return args_.v.stride[args_.v.ndim - 1]; }

  // Index of (sequence b, row r, head hh) in the contiguous Result layouts:
  // out / row_real (rows, h[, dv]) and lse (h, rows) or (b, h, s_q).
  int64_t out_row_index(const Sequence& s, int b, int r, int hh) const;
  int64_t lse_index(const Sequence& s, int b, int r, int hh) const;

 private:
  int64_t token_offset(const Tensor& t, int b, int64_t token, int head) const;
  const VarlenArgs& args_;
  int page_size_ = 0;
};

// Element i of a 1-D int32 tensor (stride honored).
int read_i32(const Tensor& t, int64_t i);
// Element (i, j) of a 2-D tensor of any dtype, as float (strides honored).
float read_2d(const Tensor& t, int64_t i, int64_t j);

}  // namespace fa3jit::reference::detail
