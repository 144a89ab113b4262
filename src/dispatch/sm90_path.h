// The Hopper fast path (sm_90a: TMA, wgmma, warp specialization,
// persistent tiles): what it supports, when Auto prefers it, and running a
// plan on it.
#pragma once
#include <cuda.h>

#include "fa3jit/device.h"
#include "validate/plan.h"

namespace fa3jit::detail {

// Throws fa3jit::Error (NotSupported) naming the argument when the sm90
// path cannot run the plan on `dev` (e.g. "num_splits = 4 (split-KV) is not
// supported yet on the sm90 path"). Called before the schedule is resolved.
void check_sm90_supports(const Plan& plan, const DeviceInfo& dev);

// Auto's choice: the sm90 path supports the plan, its head dims are the
// full-speed ones (d = dv in {64, 96, 128, 192, 256}), and split-KV is
// neither asked for nor what the heuristic would pick (the sm80 path
// splits; this one does not yet).
bool sm90_preferred(const Plan& plan, const DeviceInfo& dev);

// Keys per block of the plan's instance (for the scheduling heuristics).
int sm90_plan_block_n(const Plan& plan);

// Runs the plan (out / lse bound) on `stream`. An automatic num_splits > 1
// runs unsplit; pack_gqa runs packed when h / h_k divides the 128-row
// tile, else unpacked (same results). No host synchronization.
void run_sm90(const Plan& plan, const DeviceInfo& dev, CUstream stream);

}  // namespace fa3jit::detail
