// A tiny kernel that exercises the JIT itself (tests, `fa3jit warmup` before
// the attention families exist): a template instance chosen by name
// expression, and an include of the shared headers so that NVRTC's include
// resolution (including the relative includes inside common/) is checked.
#include "common/mask.cuh"

#ifdef FA3JIT_SELFTEST_FORCE_ERROR
// Lets the tests check that a failed compile reports NVRTC's log.
static_assert(FA3JIT_SELFTEST_FORCE_ERROR == 0, "fa3jit selftest: forced compile error");
#endif

namespace fa3jit_k {

// x[i] += N + (number of keys row i sees under a causal mask of an n x n
// problem), so the result checks both the template argument and the
// shared mask logic: x[i] = x0[i] + N + i + 1 for i < n.
template <int N>
__global__ void fa3jit_selftest_add(float* x, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  MaskSpec m;
  m.window_left = -1;
  m.window_right = 0;
  m.chunk = 0;
  const KeyRange k = key_range(m, i, n, n);
  x[i] += float(N) + float(k.end - k.begin);
}

}  // namespace fa3jit_k

#ifdef FA3JIT_SELFTEST_CCCL
// Checks that CCCL's cuda::ptx (what the Hopper kernels use for mbarriers,
// TMA and fences) is found and compiles under NVRTC for sm_90a.
#include <cuda/ptx>

namespace fa3jit_k {
template <int N>
__global__ void fa3jit_selftest_cccl(unsigned* out) {
  __shared__ unsigned long long barrier;
  if (threadIdx.x == 0) cuda::ptx::mbarrier_init(&barrier, N);
  cuda::ptx::fence_proxy_async(cuda::ptx::space_shared);
  __syncthreads();
  if (threadIdx.x == 0) out[0] = N;
}
}  // namespace fa3jit_k
#endif
