#include "validate/aux_tensors.h"

#include "validate/check_util.h"

namespace fa3jit::detail {
namespace {

void check_seqused(const Tensor& t, const char* name, const Layout& L) {
  if (!t.defined()) return;
  check_dtype(t, name, DType::i32, "");
  check_rank(t, name, 1, "(b,)");
  check_dim(t, name, 0, L.batch, cat("b = ", L.batch, ", from ", L.batch_from));
}

// qv: like q with dv, same dtype.
void check_qv(const VarlenArgs& a, const Layout& L) {
  const Tensor& qv = a.qv;
  if (!qv.defined()) return;
  check_dtype(qv, "qv", a.q.dtype, "the dtype of q");
  if (L.q_is_4d) {
    check_rank(qv, "qv", 4, "(b, s_q, h, dv) like q");
    check_dim(qv, "qv", 0, L.batch, "q's b");
    check_dim(qv, "qv", 1, L.s_q, "q's s_q");
  } else {
    check_rank(qv, "qv", 3, "(total_q, h, dv) like q");
    check_dim(qv, "qv", 0, L.total_q, "q's total_q");
  }
  check_dim(qv, "qv", qv.ndim - 2, L.h, "q's h");
  check_dim(qv, "qv", qv.ndim - 1, L.dv, "v's head dim dv");
}

// fp32 (b, h_k), fp8 inputs only. Any strides: callers broadcast one scale
// with expand() (strides 0), and AttnParams carries both strides.
void check_descale(const Tensor& t, const char* name, const VarlenArgs& a, const Layout& L) {
  if (!t.defined()) return;
  if (a.q.dtype != DType::fp8_e4m3)
    fail(ErrorKind::InvalidValue, name, " is only allowed with float8_e4m3 inputs: q is ",
         dtype_name(a.q.dtype));
  check_dtype(t, name, DType::f32, "");
  check_rank(t, name, 2, "(b, h_k)");
  check_dim(t, name, 0, L.batch, cat("b = ", L.batch, ", from ", L.batch_from));
  check_dim(t, name, 1, L.h_k, "h_k, k's heads");
}

void check_sinks(const Tensor& t, const Layout& L) {
  if (!t.defined()) return;
  if (t.dtype != DType::f32 && t.dtype != DType::bf16)
    fail(ErrorKind::InvalidType, "sinks must be float32 or bfloat16: got ", dtype_name(t.dtype));
  check_rank(t, "sinks", 1, "(h,)");
  check_dim(t, "sinks", 0, L.h, "h, q's heads");
}

}  // namespace

void check_aux_tensors(const VarlenArgs& a, const Layout& L) {
  check_seqused(a.seqused_q, "seqused_q", L);
  check_seqused(a.seqused_k, "seqused_k", L);
  check_qv(a, L);
  check_descale(a.q_descale, "q_descale", a, L);
  check_descale(a.k_descale, "k_descale", a, L);
  check_descale(a.v_descale, "v_descale", a, L);
  check_sinks(a.sinks, L);
}

}  // namespace fa3jit::detail
