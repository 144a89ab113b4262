// Split-KV (flash-decoding) on the GPU paths, written once for sm80 and
// sm90: the fp32 workspace (kernels/common/combine.cuh's layout: the
// caller's, or allocated stream-ordered), the path's forward launch, the
// combine kernel that merges the splits into out / LSE, and the
// stream-ordered free. No host synchronization and no host allocation:
// CUDA-graph capturable.
#pragma once
#include <cuda.h>

#include <functional>
#include <string>

#include "../../kernels/common/params.cuh"
#include "fa3jit/device.h"
#include "fa3jit/tensor.h"

namespace fa3jit::detail {

// The combine kernel's grid is (row groups, h, batch): with num_splits > 1,
// h and batch must fit in a grid's y / z (65535). Returns why they do not
// (naming them), or "" when they do.
std::string split_combine_grid_error(const fa3jit_k::AttnParams& p, int num_splits);

// p.num_splits > 1: launch_forward(ws) writes each split's partials into a
// workspace, then the combine kernel (compiled for `arch`) writes p.out /
// p.lse (NotSupported before anything runs if split_combine_grid_error says so).
// Otherwise launch_forward(nullptr) alone. The workspace is the caller's
// (`workspace`, checked large enough by check_split_workspace) or else
// allocated on the stream and freed on it, also when a launch throws.
void run_with_split_combine(const fa3jit_k::AttnParams& p, DType out_dtype, int arch, const DeviceInfo& dev,
                            CUstream stream, void* workspace, const std::function<void(float* ws)>& launch_forward);

}  // namespace fa3jit::detail
