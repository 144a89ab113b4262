// validate_varlen_args: every rule of the design brief, in the order a
// caller would fix them (presence, devices, dtypes and shapes, scalars,
// then metadata values), and the AttnParams that the checked arguments
// describe. bind_out / bind_lse attach output buffers to a plan.
#include "validate/aux_tensors.h"
#include "validate/check_util.h"
#include "validate/common_tensors.h"
#include "validate/layout.h"
#include "validate/metadata_checks.h"
#include "validate/metadata_read.h"
#include "validate/options.h"
#include "validate/outputs.h"
#include "validate/plan.h"
#include "validate/row_strides.h"

namespace fa3jit::detail {
namespace {

void fill_tensors(const VarlenArgs& a, const Layout& L, fa3jit_k::AttnParams& p) {
  const RowStrides q = row_strides_of(a.q), qv = row_strides_of(a.qv);
  const RowStrides k = row_strides_of(a.k), v = row_strides_of(a.v);
  p.q = a.q.data;
  p.q_batch_stride = q.batch, p.q_row_stride = q.row, p.q_head_stride = q.head;
  p.qv = a.qv.data;
  p.qv_batch_stride = qv.batch, p.qv_row_stride = qv.row, p.qv_head_stride = qv.head;
  p.k = a.k.data;
  p.k_batch_stride = k.batch, p.k_row_stride = k.row, p.k_head_stride = k.head;
  p.v = a.v.data;
  p.v_batch_stride = v.batch, p.v_row_stride = v.row, p.v_head_stride = v.head;

  p.cu_seqlens_q = static_cast<const int*>(a.cu_seqlens_q.data);
  p.cu_seqlens_k = static_cast<const int*>(a.cu_seqlens_k.data);
  p.seqused_q = static_cast<const int*>(a.seqused_q.data);
  p.seqused_k = static_cast<const int*>(a.seqused_k.data);
  p.page_table = L.paged ? static_cast<const int*>(a.page_table.data) : nullptr;
  p.page_table_stride = L.paged ? a.page_table.stride[0] : 0;
  p.page_size = L.page_size;
  p.num_pages = L.num_pages;
  p.max_pages_per_seq = L.max_pages_per_seq;

  p.q_descale = static_cast<const float*>(a.q_descale.data);
  p.q_descale_b_stride = a.q_descale.stride[0], p.q_descale_h_stride = a.q_descale.stride[1];
  p.k_descale = static_cast<const float*>(a.k_descale.data);
  p.k_descale_b_stride = a.k_descale.stride[0], p.k_descale_h_stride = a.k_descale.stride[1];
  p.v_descale = static_cast<const float*>(a.v_descale.data);
  p.v_descale_b_stride = a.v_descale.stride[0], p.v_descale_h_stride = a.v_descale.stride[1];

  p.sinks = a.sinks.data;
  p.sinks_dtype = int(a.sinks.defined() ? a.sinks.dtype : DType::f32);
}

}  // namespace

Plan validate_varlen_args(const VarlenArgs& a, void* stream) {
  check_required(a);
  check_common_tensor_rules(a);
  const Layout L = check_layout(a);
  check_aux_tensors(a, L);
  check_options(a);

  Plan plan;
  plan.device = a.q.device;
  plan.in_dtype = a.q.dtype;
  plan.out_dtype = out_dtype_for(a.q.dtype);
  plan.q_is_4d = L.q_is_4d;
  plan.paged = L.paged;
  plan.k_rows = L.paged ? L.page_size : (L.k_is_4d ? L.s_k : L.total_k);
  set_output_shapes(plan, L);
  if (a.out.defined()) check_out_tensor(plan, a.out);
  if (a.softmax_lse.defined()) check_lse_tensor(plan, a.softmax_lse);
  if (a.workspace.defined()) {
    check_workspace_tensor(plan, a.workspace);
    plan.has_workspace = true;
    plan.workspace = a.workspace.data;
    plan.workspace_bytes = a.workspace.numel() * int64_t(dtype_size(a.workspace.dtype));
  }

  const HostMetadata meta = read_metadata(a, L, stream);
  const SeqLimits lim = check_sequences(a, L, meta);

  fa3jit_k::AttnParams& p = plan.params;
  p = fa3jit_k::AttnParams{};
  p.batch = L.batch;
  p.h = L.h, p.h_k = L.h_k, p.d = L.d, p.dv = L.dv;
  p.max_seqlen_q = lim.max_seqlen_q;
  p.max_seqlen_k = lim.max_seqlen_k;
  p.total_q = L.total_q;
  p.in_dtype = int(plan.in_dtype);
  p.out_dtype = int(plan.out_dtype);
  fill_tensors(a, L, p);
  apply_options(a, L, plan);
  return plan;  // out / lse stay null until bind_out / bind_lse
}

void bind_out(Plan& plan, const Tensor& out) {
  check_out_tensor(plan, out);
  const RowStrides s = row_strides_of(out);
  auto& p = plan.params;
  p.out = out.data;
  p.o_batch_stride = s.batch, p.o_row_stride = s.row, p.o_head_stride = s.head;
}

void bind_lse(Plan& plan, const Tensor& lse) {
  check_lse_tensor(plan, lse);
  auto& p = plan.params;
  p.lse = static_cast<float*>(lse.data);
  // Contiguous (h, total_q) or (b, h, s_q): strides from the shape, since
  // dims of size 1 may carry any stride.
  if (plan.q_is_4d) {
    p.lse_batch_stride = plan.lse_shape[1] * plan.lse_shape[2];
    p.lse_head_stride = plan.lse_shape[2];
  } else {
    p.lse_batch_stride = 0;
    p.lse_head_stride = plan.lse_shape[1];
  }
  p.lse_row_stride = 1;
}

}  // namespace fa3jit::detail
