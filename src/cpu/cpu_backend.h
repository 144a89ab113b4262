// The CPU backend: the flash algorithm (tiled online softmax) on the host,
// multithreaded over (batch, head, q-tile, split), every feature.
#pragma once
#include "validate/plan.h"

namespace fa3jit::cpu {

// Runs the plan; out (and lse if wanted) must be bound. num_splits in the
// params is final (>= 1). Host memory only.
void run_attention(const detail::Plan& plan);

// Number of worker threads (FA3JIT_NUM_THREADS, else hardware concurrency).
int num_threads();

}  // namespace fa3jit::cpu
