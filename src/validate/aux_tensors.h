// Shapes and dtypes of the optional inputs measured against the Layout:
// seqused_q / seqused_k, qv, q/k/v_descale, sinks.
#pragma once
#include "fa3jit/args.h"
#include "validate/layout.h"

namespace fa3jit::detail {

void check_aux_tensors(const VarlenArgs& args, const Layout& layout);

}  // namespace fa3jit::detail
