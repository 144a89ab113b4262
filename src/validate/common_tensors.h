// Rules every tensor argument shares: well formed, on q's device, a data
// pointer when it has elements, stride 1 in the last dim.
#pragma once
#include "fa3jit/args.h"

namespace fa3jit::detail {

// q, k and v are required.
void check_required(const VarlenArgs& args);
void check_common_tensor_rules(const VarlenArgs& args);

}  // namespace fa3jit::detail
