// Programmatic dependent launch (sm_90+; CCCL has no wrapper for these).
// A kernel launched with the programmatic-serialization attribute may
// start while the previous kernel in the stream still runs: it must call
// wait_for_primary_grid() before its first global read or write (the
// previous kernel's writes are visible past it). allow_dependent_launch()
// lets the next kernel start early; its CTAs take SMs as they free up and
// wait. So launch latency and prologue (barrier setup, ~1-2 us of a short
// decode step) overlap the previous kernel's tail. Both are no-ops on
// older GPUs and when the launch did not ask for it.
#pragma once
#include "platform.cuh"

namespace fa3jit_k {

#if defined(FA3JIT_DEVICE_CODE)
__device__ __forceinline__ void allow_dependent_launch() {
#if __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}
__device__ __forceinline__ void wait_for_primary_grid() {
#if __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}
#endif  // FA3JIT_DEVICE_CODE

}  // namespace fa3jit_k
