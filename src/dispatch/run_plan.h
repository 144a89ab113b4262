// The part of flash_attn_varlen after validation, for entry points that
// build and adjust a Plan themselves (flash_attn_with_kvcache): resolves the
// schedule, allocates the outputs `args` does not give, binds and runs.
#pragma once
#include "dispatch/path_choice.h"
#include "fa3jit/args.h"
#include "validate/plan.h"

namespace fa3jit::detail {

// Fills the scheduling fields that "auto" left open (pack_gqa, num_splits,
// clamped to the key blocks); run_plan starts with it.
void resolve_schedule(Plan& plan, const PathChoice& choice);

// Bytes of split-KV workspace the resolved plan needs on its path (0 on
// the CPU or without splits), and the check that the caller's workspace,
// when given, holds them (InvalidValue naming workspace; before any write).
int64_t split_workspace_needed(const Plan& plan, const PathChoice& choice);
void check_split_workspace(const Plan& plan, const PathChoice& choice);

// `choice` from choose_path(plan). Reads only out / softmax_lse /
// return_softmax_lse of `args`.
VarlenResult run_plan(Plan& plan, const PathChoice& choice, const VarlenArgs& args, void* stream);

}  // namespace fa3jit::detail
