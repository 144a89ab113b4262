// Entry of the sm80 forward kernel (compiled by NVRTC per specialization;
// the host names the instance, see src/dispatch/sm80_specs.cpp).
#include "fwd_kernel.cuh"

namespace fa3jit_k::sm80 {

// ws: the split-KV workspace (kFlagSplit), else unused.
template <int kD, int kDV, int kBlockM, int kBlockN, int kNWarps, int kStages, int kInDtype, int kMask, int kFlags>
__global__ void __launch_bounds__(kNWarps * 32, 1) fwd_kernel(const __grid_constant__ AttnParams p, float* ws) {
  extern __shared__ Words4 smem_words[];  // 16-byte aligned for cp.async / ldmatrix
  fwd_tile<kD, kDV, kBlockM, kBlockN, kNWarps, kStages, kInDtype, kMask, kFlags>(p, ws, reinterpret_cast<uint16_t*>(smem_words));
}

}  // namespace fa3jit_k::sm80
