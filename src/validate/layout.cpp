#include "validate/layout.h"

#include "validate/check_util.h"

namespace fa3jit::detail {
namespace {

void check_input_dtype(const VarlenArgs& a) {
  const DType t = a.q.dtype;
  if (t == DType::f32) {
    if (a.q.device.type != DeviceType::CPU)
      fail(ErrorKind::NotSupported, "q is float32 on ", device_name(a.q.device),
           ": float32 inputs run only on the CPU; GPUs take float16, bfloat16 or float8_e4m3");
  } else if (t != DType::f16 && t != DType::bf16 && t != DType::fp8_e4m3) {
    fail(ErrorKind::InvalidType, "q must be float16, bfloat16 or float8_e4m3 (float32 on the CPU): got ",
         dtype_name(t));
  }
  check_dtype(a.k, "k", t, "the dtype of q");
  check_dtype(a.v, "v", t, "the dtype of q");
}

// An int32, 1-D, contiguous cu_seqlens of b + 1 entries.
void check_cu_seqlens(const Tensor& cu, const char* name) {
  check_dtype(cu, name, DType::i32, "");
  check_rank(cu, name, 1, "(b + 1,)");
  check_contiguous(cu, name);
}

// Sets batch, q_is_4d, s_q, total_q, h, d.
void read_q(const VarlenArgs& a, Layout& L) {
  L.q_is_4d = !a.cu_seqlens_q.defined();
  if (L.q_is_4d) {
    check_rank(a.q, "q", 4, "(b, s_q, h, d) when cu_seqlens_q is none");
    L.batch = to_int(a.q.shape[0], "q.shape[0] (b)");
    L.batch_from = "q.shape[0]";
    L.s_q = to_int(a.q.shape[1], "q.shape[1] (s_q)");
    L.total_q = to_int(a.q.shape[0] * a.q.shape[1], "b * s_q (q's rows)");
  } else {
    check_rank(a.q, "q", 3, "(total_q, h, d) when cu_seqlens_q is given");
    check_cu_seqlens(a.cu_seqlens_q, "cu_seqlens_q");
    if (a.cu_seqlens_q.shape[0] < 1)
      fail(ErrorKind::InvalidValue, "cu_seqlens_q must have b + 1 >= 1 entries: got shape (0,)");
    L.batch = to_int(a.cu_seqlens_q.shape[0] - 1, "cu_seqlens_q.shape[0] - 1 (b)");
    L.batch_from = "cu_seqlens_q.shape[0] - 1";
    L.total_q = to_int(a.q.shape[0], "q.shape[0] (total_q)");
  }
  L.h = to_int(a.q.size(-2), "q.shape[-2] (h)");
  L.d = to_int(a.q.size(-1), "q.shape[-1] (d)");
  if (L.h < 1) fail(ErrorKind::InvalidValue, "q must have at least one head: q has shape ", shape_string(a.q));
}

std::string batch_rule(const Layout& L) { return cat("b = ", L.batch, ", from ", L.batch_from); }

// Sets paged, k_is_4d, s_k, total_k, num_pages, page_size, max_pages_per_seq.
void read_kv(const VarlenArgs& a, Layout& L) {
  L.paged = a.page_table.defined();
  if (a.cu_seqlens_k.defined()) {
    check_cu_seqlens(a.cu_seqlens_k, "cu_seqlens_k");
    check_dim(a.cu_seqlens_k, "cu_seqlens_k", 0, int64_t(L.batch) + 1, "b + 1; " + batch_rule(L));
  }
  if (L.paged) {
    const Tensor& pt = a.page_table;
    check_dtype(pt, "page_table", DType::i32, "");
    check_rank(pt, "page_table", 2, "(b, max_pages_per_seq)");
    check_dim(pt, "page_table", 0, L.batch, batch_rule(L));
    check_rank(a.k, "k", 4, "(num_pages, page_size, h_k, d) when page_table is given");
    check_rank(a.v, "v", 4, "(num_pages, page_size, h_k, dv) when page_table is given");
    L.num_pages = to_int(a.k.shape[0], "k.shape[0] (num_pages)");
    L.page_size = to_int(a.k.shape[1], "k.shape[1] (page_size)");
    L.max_pages_per_seq = to_int(pt.shape[1], "page_table.shape[1] (max_pages_per_seq)");
    if (L.page_size < 1)
      fail(ErrorKind::InvalidValue, "k.shape[1] (page_size) must be >= 1: k has shape ", shape_string(a.k));
    check_dim(a.v, "v", 0, L.num_pages, "k's number of pages");
    check_dim(a.v, "v", 1, L.page_size, "k's page_size");
    to_int(int64_t(L.max_pages_per_seq) * L.page_size, "page_table.shape[1] * page_size (keys a sequence can hold)");
  } else if (a.cu_seqlens_k.defined()) {
    check_rank(a.k, "k", 3, "(total_k, h_k, d) when cu_seqlens_k is given");
    check_rank(a.v, "v", 3, "(total_k, h_k, dv) when cu_seqlens_k is given");
    L.total_k = to_int(a.k.shape[0], "k.shape[0] (total_k)");
    check_dim(a.v, "v", 0, L.total_k, "k's total_k");
  } else {
    L.k_is_4d = true;
    check_rank(a.k, "k", 4, "(b, s_k, h_k, d) when neither cu_seqlens_k nor page_table is given");
    check_rank(a.v, "v", 4, "(b, s_k, h_k, dv) when neither cu_seqlens_k nor page_table is given");
    check_dim(a.k, "k", 0, L.batch, batch_rule(L));
    L.s_k = to_int(a.k.shape[1], "k.shape[1] (s_k)");
    check_dim(a.v, "v", 0, L.batch, batch_rule(L));
    check_dim(a.v, "v", 1, L.s_k, "k's s_k");
  }
}

void check_heads_and_dims(const VarlenArgs& a, Layout& L) {
  const int kh = a.k.ndim - 2;  // head dim index of k and v
  L.h_k = to_int(a.k.shape[kh], "k.shape[-2] (h_k)");
  if (L.h_k < 1) fail(ErrorKind::InvalidValue, "k must have at least one head: k has shape ", shape_string(a.k));
  check_dim(a.v, "v", kh, L.h_k, "k's h_k");
  if (L.h % L.h_k != 0)
    fail(ErrorKind::InvalidValue, "q's heads h = ", L.h, " must be a multiple of k's heads h_k = ", L.h_k,
         " (GQA / MQA)");
  check_dim(a.k, "k", kh + 1, L.d, "q's head dim d");
  L.dv = to_int(a.v.shape[kh + 1], "v.shape[-1] (dv)");
  if (L.d % 8 != 0 || L.d < 8 || L.d > 256)
    fail(ErrorKind::NotSupported, "head dim d = q.shape[-1] = ", L.d,
         " is not supported: d must be a multiple of 8 in [8, 256]");
  if (L.dv != 512 && (L.dv % 8 != 0 || L.dv < 8 || L.dv > 256))
    fail(ErrorKind::NotSupported, "head dim dv = v.shape[-1] = ", L.dv,
         " is not supported: dv must be a multiple of 8 in [8, 256], or 512");
}

}  // namespace

Layout check_layout(const VarlenArgs& a) {
  check_input_dtype(a);
  Layout L;
  read_q(a, L);
  read_kv(a, L);
  check_heads_and_dims(a, L);
  return L;
}

}  // namespace fa3jit::detail
