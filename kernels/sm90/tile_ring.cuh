// The dynamic tile walk of the sm90 kernel (kFlagDynamic; the list itself
// is tile_sched.cuh's). Device code only (NVRTC, sm_90a).
#pragma once
#include "sync.cuh"
#include "tile_sched.cuh"

namespace fa3jit_k::sm90 {

// kFlagDynamic: CTA c's first tile is c, every later one the next count of
// ctr[0] (plus gridDim.x). The producer warp takes them (lane 0) and
// publishes each index, the last one >= count (the end), into the 2-slot
// ring of shared memory (Smem::tile_*); the consumer warps read them in the
// same order, once each. ctr (2 ints, 0 at launch) is left 0 for the next
// launch by the CTA that finishes last: ctr[1] counts the CTAs whose last
// take is done. The next launch reads ctr only after griddepcontrol.wait
// (or stream order), so it sees the reset.
template <class S>
__device__ __forceinline__ int publish_next_tile(const S& sm, int* ctr, int i, int lane) {
  int t = 0;
  if (lane == 0) {
    t = i == 0 ? int(blockIdx.x) : int(gridDim.x) + atomicAdd(ctr, 1);
    mbar_wait(sm.tile_empty(i % 2), ((i / 2) & 1) ^ 1);
    *sm.tile_slot(i % 2) = t;
    mbar_arrive(sm.tile_full(i % 2));  // release: the slot's store is visible with the phase
  }
  return __shfl_sync(0xffffffffu, t, 0);
}
template <class S>
__device__ __forceinline__ int take_tile(const S& sm, int i, int lane) {
  mbar_wait(sm.tile_full(i % 2), (i / 2) & 1);
  const int t = *sm.tile_slot(i % 2);
  warp_arrive(sm.tile_empty(i % 2), lane);
  return t;
}
// After the producer's last take: the CTA that finishes last resets ctr.
__device__ __forceinline__ void finish_tile_counter(int* ctr, int lane) {
  if (lane != 0) return;
  __threadfence();  // this CTA's takes come before its count in ctr[1]
  if (atomicAdd(ctr + 1, 1) == int(gridDim.x) - 1) {
    ctr[0] = 0;
    ctr[1] = 0;
  }
}

}  // namespace fa3jit_k::sm90
