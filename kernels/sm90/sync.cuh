// Hopper synchronization primitives written once: mbarriers (on CCCL's
// cuda::ptx), named barriers, register reallocation (setmaxnreg) and the
// generic-to-async proxy fence. Device code only (NVRTC, sm_90a).
#pragma once
#include <cuda/ptx>

#include "../common/params.cuh"

namespace fa3jit_k::sm90 {

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// ---- mbarriers (64-bit words in shared memory)
__device__ __forceinline__ void mbar_init(uint64_t* bar, uint32_t count) { cuda::ptx::mbarrier_init(bar, count); }

// Makes the initialized barriers visible to the async proxy (TMA).
__device__ __forceinline__ void mbar_init_fence() { cuda::ptx::fence_mbarrier_init(cuda::ptx::sem_release, cuda::ptx::scope_cluster); }

__device__ __forceinline__ void mbar_arrive(uint64_t* bar) { (void)cuda::ptx::mbarrier_arrive(bar); }

// One arrival that also expects `bytes` of TMA transactions this phase.
__device__ __forceinline__ void mbar_arrive_expect_tx(uint64_t* bar, uint32_t bytes) {
  (void)cuda::ptx::mbarrier_arrive_expect_tx(cuda::ptx::sem_release, cuda::ptx::scope_cta, cuda::ptx::space_shared, bar,
                                             bytes);
}

// One arrival for a warp, after all its lanes' earlier accesses (the
// barrier counts warps).
__device__ __forceinline__ void warp_arrive(uint64_t* bar, int lane) {
  __syncwarp();
  if (lane == 0) mbar_arrive(bar);
}

// Blocks until the phase with parity `phase` has completed.
__device__ __forceinline__ void mbar_wait(uint64_t* bar, uint32_t phase) {
  while (!cuda::ptx::mbarrier_try_wait_parity(bar, phase)) {
  }
}

// A position in a ring of kStages buffers: the buffer and the parity of its
// mbarriers' phase, advanced without a division (3 stages would divide).
template <int kStages>
struct RingPos {
  int st = 0;
  uint32_t ph = 0;
  __device__ __forceinline__ void advance() {
    if (++st == kStages) {
      st = 0;
      ph ^= 1;
    }
  }
};

// ---- named barriers (ids 1..15; 0 is __syncthreads). `threads` counts
// every thread that syncs or arrives, a multiple of 32.
__device__ __forceinline__ void named_sync(int id, int threads) {
  asm volatile("bar.sync %0, %1;" ::"r"(id), "r"(threads) : "memory");
}
__device__ __forceinline__ void named_arrive(int id, int threads) {
  asm volatile("bar.arrive %0, %1;" ::"r"(id), "r"(threads) : "memory");
}

// ---- register reallocation between warpgroups (whole warpgroup executes)
template <int kRegs>
__device__ __forceinline__ void regs_increase() {
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;" ::"n"(kRegs));
}
template <int kRegs>
__device__ __forceinline__ void regs_decrease() {
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;" ::"n"(kRegs));
}

// Ordinary shared-memory stores that wgmma or TMA read next.
__device__ __forceinline__ void fence_async_smem() { cuda::ptx::fence_proxy_async(cuda::ptx::space_shared); }

}  // namespace fa3jit_k::sm90
