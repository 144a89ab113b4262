// Entry of the sm90 (Hopper, sm_90a) forward kernel, compiled by NVRTC per
// specialization (the host names the instance: src/dispatch/sm90_specs.cpp).
// Warp-specialized: warpgroup 0 gives up registers and its warp 0 issues
// the TMA loads; warpgroups 1 and 2 take the registers and compute.
// Persistent: each CTA walks its tiles of the list in tile_sched.cuh;
// `group` is the list's group size ((batch, head) pairs). With kFlagSplit
// the tiles write fp32 partials into `ws` (common/combine.cuh's layout) and
// the combine kernel writes out / LSE; with kFlagDynamic ws holds the tile
// counter (tile_ring.cuh); else ws is unused. kFlagOneWarpgroup:
// one consumer warpgroup (decode). fp8 e4m3 (kInDtype): warps 1-3 of the
// producer warpgroup transpose V in shared memory (producer.cuh).
#include "consumer.cuh"
#include "producer.cuh"

namespace fa3jit_k::sm90 {

template <int kD, int kDV, int kBlockN, int kStages, int kInDtype, int kMask, int kFlags>
__global__ void __launch_bounds__(threads_of(kFlags), 1)
    fwd_kernel(const __grid_constant__ AttnParams p, const __grid_constant__ TmaDesc tq,
               const __grid_constant__ TmaDesc tk, const __grid_constant__ TmaDesc tv, int group, float* ws) {
  extern __shared__ __align__(1024) uint8_t smem_raw[];
  allow_dependent_launch();  // the next kernel (split: the combine) may start its prologue (pdl.cuh)
  constexpr int kQStages = (kFlags & kFlagQDouble) ? 2 : 1;
  constexpr bool kFp8 = kInDtype == kFP8E4M3;
  constexpr bool kDynamic = kFlags & kFlagDynamic;
  const Smem<kD, kDV, kBlockN, kStages, kQStages, elem_bytes(kInDtype), kDynamic, q_rows_of(kFlags)> sm(smem_raw);
  constexpr uint32_t kConsumerWarps = 4 * consumer_warpgroups(kFlags);
  // K/V full barriers: one arrival with the TMA bytes, or one per producer
  // thread when the producer warpgroup gathers pages with cp.async
  // (paged_gather.cuh)
  const bool gather = gathers_pages<kBlockN, kFlags, elem_bytes(kInDtype)>(p);
  const uint32_t kv_arrivals = gather ? 32 * kGatherWarps : 1;
  if (threadIdx.x == 0) {
    for (int i = 0; i < kQStages; ++i) {
      mbar_init(sm.q_full(i), 1);
      mbar_init(sm.q_empty(i), kConsumerWarps);
    }
    for (int s = 0; s < kStages; ++s) {
      mbar_init(sm.k_full(s), kv_arrivals);
      mbar_init(sm.k_empty(s), kConsumerWarps);
      mbar_init(sm.v_full(s), kFp8 ? 32 * kTransposeWarps : kv_arrivals);  // fp8: every transposing thread arrives
      if (kFp8) mbar_init(sm.vs_full(s), 1);
      mbar_init(sm.v_empty(s), kConsumerWarps);
    }
    if constexpr (kDynamic) {
      for (int i = 0; i < 2; ++i) {
        mbar_init(sm.tile_full(i), 1);
        mbar_init(sm.tile_empty(i), kConsumerWarps);
      }
    }
    mbar_init_fence();
  }
  __syncthreads();
  wait_for_primary_grid();  // launched programmatically dependent: no global access before this
  if (threadIdx.x / 128 == 0) {
    regs_decrease<kFp8 ? fp8_producer_regs(kFlags) : producer_regs(kFlags)>();
    if (threadIdx.x == 0) {
      tma_prefetch_desc(&tq);
      tma_prefetch_desc(&tk);
      tma_prefetch_desc(&tv);
    }
    // kFlagDynamic (never with split-KV): ws holds the tile counter (tile_ring.cuh)
    if (threadIdx.x < 32 || gather)
      produce<kD, kDV, kBlockN, kStages, kMask, kFlags>(p, &tq, &tk, &tv, sm, group, reinterpret_cast<int*>(ws));
    if constexpr (kFp8) {
      if (threadIdx.x >= 32) transpose_blocks<kDV, kBlockN, kStages>(sm, int(threadIdx.x) - 32);
    }
  } else {
    regs_increase<kFp8 ? fp8_consumer_regs(kFlags) : consumer_regs(kFlags)>();
    consume<kD, kDV, kBlockN, kStages, kInDtype, kMask, kFlags>(p, sm, threadIdx.x / 128 - 1, group, ws);
  }
}

}  // namespace fa3jit_k::sm90
