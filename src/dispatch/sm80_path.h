// The portable CUDA path (FA2-class mma.sync kernel, every sm_80+ GPU):
// what it supports, and running a plan on it.
#pragma once
#include <cuda.h>

#include "fa3jit/device.h"
#include "validate/plan.h"

namespace fa3jit::detail {

// Throws fa3jit::Error (NotSupported) naming the argument when the sm80
// path cannot run the plan on `dev` (e.g. "dv = 512 is not supported yet on
// the sm80 path"). Called before the schedule (num_splits, pack_gqa) is
// resolved; run_sm80 re-checks what depends on it.
void check_sm80_supports(const Plan& plan, const DeviceInfo& dev);

// Runs the plan (out / lse bound, num_splits >= 1, pack_gqa 0/1) on `stream`:
// the forward kernel, and for num_splits > 1 the combine kernel with a
// stream-ordered fp32 workspace. No host synchronization.
void run_sm80(const Plan& plan, const DeviceInfo& dev, CUstream stream);

}  // namespace fa3jit::detail
