// Entry of the split-KV combine kernel (see common/combine.cuh), one
// instance per output dtype.
#include "common/combine.cuh"

namespace fa3jit_k {

template <int kOutDtype>
__global__ void __launch_bounds__(kCombineThreads) combine_splits(const AttnParams p, const float* ws) {
  combine_splits_impl<kOutDtype>(p, ws);
}

}  // namespace fa3jit_k
