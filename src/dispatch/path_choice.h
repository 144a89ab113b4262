// Which implementation runs a validated plan, and its tile shape (for the
// scheduling heuristics).
#pragma once
#include "fa3jit/device.h"
#include "validate/plan.h"

namespace fa3jit::detail {

struct PathChoice {
  KernelPath path = KernelPath::Cpu;
  const DeviceInfo* device = nullptr;
  int workers = 1;  // SMs left after sm_margin, or CPU threads
  int tile_m = 64;
  int tile_n = 64;
};

// Resolves KernelPath::Auto and checks that the chosen path can run the
// plan on its device; throws fa3jit::Error (NotSupported) naming the
// argument otherwise. Nothing runs yet.
PathChoice choose_path(const Plan& plan);

// Runs the plan (outputs bound, schedule resolved) on the chosen path.
void run_path(const Plan& plan, const PathChoice& choice, void* stream);

}  // namespace fa3jit::detail
