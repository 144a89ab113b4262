// The Hopper fast path (sm_90a: TMA, wgmma, warp specialization,
// persistent tiles): what it supports, when Auto prefers it, and running a
// plan on it.
#pragma once
#include <cuda.h>

#include "fa3jit/device.h"
#include "validate/plan.h"

namespace fa3jit::detail {

// Throws fa3jit::Error (NotSupported) naming the argument when the sm90
// path cannot run the plan on `dev` (e.g. "page_size = 12 with fp8 inputs: ...
// on the sm90 path"). Called before the schedule is resolved.
void check_sm90_supports(const Plan& plan, const DeviceInfo& dev);

// Whether the plan's pages are gathered with cp.async (pages TMA cannot
// load: not a multiple of the key block nor 8-row patterns dividing it).
bool sm90_gathers_pages(const Plan& plan);

// Auto's choice: the sm90 path supports the plan and its head dims are the
// full-speed ones (d = dv in {64, 96, 128, 192, 256}); split-KV, asked for
// or picked by the heuristic, runs here too.
bool sm90_preferred(const Plan& plan, const DeviceInfo& dev);

// Keys per block of the plan's instance (for the scheduling heuristics).
int sm90_plan_block_n(const Plan& plan);
// Query rows per tile of the plan's instance (for the scheduling
// heuristics): 64 when the packed rows fit the 1-warpgroup decode kernel
// (pack_gqa as asked, or as choose_pack_gqa picks), else 128.
int sm90_plan_tile_m(const Plan& plan);

// Runs the plan (out / lse bound, schedule resolved) on `stream`:
// num_splits > 1 runs split-KV with the combine kernel; pack_gqa runs
// packed when h / h_k divides the 128-row tile, else unpacked (same
// results). No host synchronization.
void run_sm90(const Plan& plan, const DeviceInfo& dev, CUstream stream);

}  // namespace fa3jit::detail
