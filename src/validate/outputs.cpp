#include "validate/outputs.h"

#include "validate/check_util.h"

namespace fa3jit::detail {
namespace {

std::string shape_of(int ndim, const std::array<int64_t, 4>& shape) {
  Tensor t;
  t.ndim = ndim;
  for (int i = 0; i < ndim; ++i) t.shape[i] = shape[i];
  return shape_string(t);
}

void check_shape(const Tensor& t, const char* name, int ndim, const std::array<int64_t, 4>& shape,
                 const char* layout) {
  bool same = t.ndim == ndim;
  for (int i = 0; same && i < ndim; ++i) same = t.shape[i] == shape[i];
  if (!same)
    fail(ErrorKind::InvalidValue, name, " must have shape ", layout, " = ", shape_of(ndim, shape),
         ": got ", shape_string(t));
}

void check_device(const Tensor& t, const char* name, const Device& device) {
  if (!(t.device == device))
    fail(ErrorKind::InvalidValue, name, " is on ", device_name(t.device), " but q is on ",
         device_name(device), ": every tensor must be on the same device");
}

}  // namespace

DType out_dtype_for(DType in) { return in == DType::fp8_e4m3 ? DType::bf16 : in; }

void set_output_shapes(Plan& plan, const Layout& L) {
  if (L.q_is_4d) {
    plan.out_ndim = 4;
    plan.out_shape = {L.batch, L.s_q, L.h, L.dv};
    plan.lse_ndim = 3;
    plan.lse_shape = {L.batch, L.h, L.s_q, 0};
  } else {
    plan.out_ndim = 3;
    plan.out_shape = {L.total_q, L.h, L.dv, 0};
    plan.lse_ndim = 2;
    plan.lse_shape = {L.h, L.total_q, 0, 0};
  }
}

void check_out_tensor(const Plan& plan, const Tensor& out) {
  check_well_formed(out, "out");
  check_device(out, "out", plan.device);
  check_dtype(out, "out", plan.out_dtype,
              plan.in_dtype == DType::fp8_e4m3 ? "the output of float8_e4m3 inputs" : "the dtype of q");
  check_shape(out, "out", plan.out_ndim, plan.out_shape,
              plan.q_is_4d ? "(b, s_q, h, dv)" : "(total_q, h, dv)");
  check_last_stride(out, "out");
  check_no_self_overlap(out, "out");
  check_data(out, "out");
}

void check_workspace_tensor(const Plan& plan, const Tensor& ws) {
  check_well_formed(ws, "workspace");
  check_device(ws, "workspace", plan.device);
  check_contiguous(ws, "workspace");
  check_data(ws, "workspace");
  if (reinterpret_cast<uintptr_t>(ws.data) % 16 != 0)
    fail(ErrorKind::InvalidValue, "workspace", " must be 16-byte aligned (the split combine reads float4)");
}

void check_lse_tensor(const Plan& plan, const Tensor& lse) {
  check_well_formed(lse, "softmax_lse");
  check_device(lse, "softmax_lse", plan.device);
  check_dtype(lse, "softmax_lse", DType::f32, "");
  check_shape(lse, "softmax_lse", plan.lse_ndim, plan.lse_shape,
              plan.q_is_4d ? "(b, h, s_q) for 4-D q" : "(h, total_q) for varlen q");
  check_contiguous(lse, "softmax_lse");
  check_data(lse, "softmax_lse");
}

}  // namespace fa3jit::detail
