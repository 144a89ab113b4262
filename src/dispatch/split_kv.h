// Split-KV (flash-decoding) on the GPU paths, written once for sm80 and
// sm90: the fp32 workspace (kernels/common/combine.cuh's layout) allocated
// stream-ordered, the path's forward launch, the combine kernel that merges
// the splits into out / LSE, and the stream-ordered free. No host
// synchronization and no host allocation: CUDA-graph capturable.
#pragma once
#include <cuda.h>

#include <functional>

#include "../../kernels/common/params.cuh"
#include "fa3jit/device.h"
#include "fa3jit/tensor.h"

namespace fa3jit::detail {

// p.num_splits > 1: launch_forward(ws) writes each split's partials into a
// workspace, then the combine kernel (compiled for `arch`) writes p.out /
// p.lse. Otherwise launch_forward(nullptr) alone. The workspace is freed on
// the stream also when a launch throws.
void run_with_split_combine(const fa3jit_k::AttnParams& p, DType out_dtype, int arch, const DeviceInfo& dev,
                            CUstream stream, const std::function<void(float* ws)>& launch_forward);

}  // namespace fa3jit::detail
