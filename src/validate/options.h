// The scalar arguments (window, chunk, softcap, scale, splits, margins,
// max_seqlen signs, flag combinations): their rules, and their normalized
// values in AttnParams.
#pragma once
#include "fa3jit/args.h"
#include "validate/layout.h"
#include "validate/plan.h"

namespace fa3jit::detail {

void check_options(const VarlenArgs& args);

// Mask (causal => window_right = 0 with is_causal set; a window right of 0
// is causal), scale (default 1/sqrt(d), 1/sqrt(dv) for only_qv), softcap,
// only_qv, num_splits / pack_gqa (auto left to dispatch), sm_margin, path.
void apply_options(const VarlenArgs& args, const Layout& layout, Plan& plan);

}  // namespace fa3jit::detail
