// The outputs a plan wants (out, softmax_lse): their dtype and shapes, and
// the check of a buffer given for them (by the caller or by dispatch).
#pragma once
#include "validate/layout.h"
#include "validate/plan.h"

namespace fa3jit::detail {

// bf16 for fp8 inputs, else the input dtype (fp32 stays fp32).
DType out_dtype_for(DType in);

// Fills plan.out_ndim / out_shape / lse_ndim / lse_shape from the layout.
void set_output_shapes(Plan& plan, const Layout& layout);

// out: plan.out_dtype, plan.out_shape, on plan.device, last stride 1, no
// self-overlap. softmax_lse: float32, plan.lse_shape, contiguous, on plan.device.
void check_out_tensor(const Plan& plan, const Tensor& out);
void check_lse_tensor(const Plan& plan, const Tensor& lse);
// workspace: on plan.device, contiguous, 16-byte aligned (its size is
// checked once the splits are known: check_split_workspace).
void check_workspace_tensor(const Plan& plan, const Tensor& workspace);

}  // namespace fa3jit::detail
