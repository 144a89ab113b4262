#include "reference/reference_layout.h"

#include "common/dtype_convert.h"

namespace fa3jit::reference::detail {

int read_i32(const Tensor& t, int64_t i) {
  return static_cast<const int32_t*>(t.data)[i * t.stride[0]];
}

float read_2d(const Tensor& t, int64_t i, int64_t j) {
  return load_as_float(t.data, t.dtype, i * t.stride[0] + j * t.stride[1]);
}

Layout::Layout(const VarlenArgs& args) : args_(args) {
  q_4d = !args.cu_seqlens_q.defined();
  paged = args.page_table.defined();
  batch = int(q_4d ? args.q.shape[0] : args.cu_seqlens_q.shape[0] - 1);
  h = int(args.q.size(-2));
  d = int(args.q.size(-1));
  h_k = int(args.k.size(-2));
  dv = int(args.v.size(-1));
  q_rows_total = q_4d ? args.q.shape[1] : args.q.shape[0];
  if (paged) page_size_ = int(args.k.shape[1]);
}

Sequence Layout::sequence(int b) const {
  Sequence s;
  if (q_4d) {
    s.q_begin = 0;
    s.q_rows = int(args_.q.shape[1]);
  } else {
    s.q_begin = read_i32(args_.cu_seqlens_q, b);
    s.q_rows = int(read_i32(args_.cu_seqlens_q, b + 1) - s.q_begin);
  }
  s.seqlen_q = args_.seqused_q.defined() ? read_i32(args_.seqused_q, b) : s.q_rows;

  // Key length: seqused_k, else the cu_seqlens_k difference, else (paged)
  // max_seqlen_k defaulting to the whole page-table row, else the 4-D length.
  const bool has_cu_k = args_.cu_seqlens_k.defined();
  if (has_cu_k && !paged) s.k_begin = read_i32(args_.cu_seqlens_k, b);
  if (args_.seqused_k.defined()) {
    s.seqlen_k = read_i32(args_.seqused_k, b);
  } else if (has_cu_k) {
    s.seqlen_k = read_i32(args_.cu_seqlens_k, b + 1) - read_i32(args_.cu_seqlens_k, b);
  } else if (paged) {
    s.seqlen_k = int(args_.max_seqlen_k.value_or(args_.page_table.shape[1] * page_size_));
  } else {
    s.seqlen_k = int(args_.k.shape[1]);
  }
  return s;
}

// Offset of element 0 of (token, head): 4-D (b, s, heads, dim) or packed
// (tokens, heads, dim) tensors.
int64_t Layout::token_offset(const Tensor& t, int b, int64_t token, int head) const {
  if (t.ndim == 4) return b * t.stride[0] + token * t.stride[1] + head * t.stride[2];
  return token * t.stride[0] + head * t.stride[1];
}

int64_t Layout::q_offset(const Sequence& s, int b, int r, int hh) const {
  return token_offset(args_.q, b, s.q_begin + r, hh);
}
int64_t Layout::qv_offset(const Sequence& s, int b, int r, int hh) const {
  return token_offset(args_.qv, b, s.q_begin + r, hh);
}

int64_t Layout::k_offset(const Sequence& s, int b, int t, int hk) const {
  if (paged) {
    const Tensor& pt = args_.page_table;
    const int page = static_cast<const int32_t*>(
        pt.data)[b * pt.stride[0] + (t / page_size_) * pt.stride[1]];
    return page * args_.k.stride[0] + (t % page_size_) * args_.k.stride[1] +
           hk * args_.k.stride[2];
  }
  return token_offset(args_.k, b, s.k_begin + t, hk);
}

int64_t Layout::v_offset(const Sequence& s, int b, int t, int hk) const {
  if (paged) {
    const Tensor& pt = args_.page_table;
    const int page = static_cast<const int32_t*>(
        pt.data)[b * pt.stride[0] + (t / page_size_) * pt.stride[1]];
    return page * args_.v.stride[0] + (t % page_size_) * args_.v.stride[1] +
           hk * args_.v.stride[2];
  }
  return token_offset(args_.v, b, s.k_begin + t, hk);
}

int64_t Layout::out_row_index(const Sequence& s, int b, int r, int hh) const {
  const int64_t row = q_4d ? int64_t(b) * q_rows_total + r : s.q_begin + r;
  return row * h + hh;
}

int64_t Layout::lse_index(const Sequence& s, int b, int r, int hh) const {
  if (q_4d) return (int64_t(b) * h + hh) * q_rows_total + r;
  return int64_t(hh) * q_rows_total + s.q_begin + r;
}

}  // namespace fa3jit::reference::detail
