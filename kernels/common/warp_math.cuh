// Register-level math of the GPU paths' online softmax: the log2(e) / ln(2)
// constants (scores are kept in log2 units so exp is one ex2), exp2, and the
// reductions over the 4 lanes (a quad) that hold one accumulator row in both
// the mma.sync (sm80) and the wgmma (sm90) accumulator layouts.
#pragma once
#include "platform.cuh"

namespace fa3jit_k {

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

#if defined(FA3JIT_DEVICE_CODE)
__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}
__device__ __forceinline__ float quad_max(float x) {
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
  return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}
__device__ __forceinline__ float quad_min(float x) {
  x = fminf(x, __shfl_xor_sync(0xffffffffu, x, 1));
  return fminf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}
__device__ __forceinline__ float quad_sum(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, 1);
  return x + __shfl_xor_sync(0xffffffffu, x, 2);
}
#endif  // FA3JIT_DEVICE_CODE

}  // namespace fa3jit_k
