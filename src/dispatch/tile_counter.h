// The device counter of the sm90 kernel's dynamic tile walk (kFlagDynamic,
// kernels/sm90/tile_ring.cuh): two ints, zero at every launch. One per
// (device, stream): launches on one stream run in order, and each leaves
// the counter zero for the next. A CUDA graph captured on a stream keeps
// that stream's counter: replaying it on two streams at once, or beside
// eager calls on the capture stream, would share one counter (wrong
// tiles). Before the dynamic walk becomes a default, it should take its
// counter from the caller's workspace where one is given.
#pragma once
#include <cuda.h>

namespace fa3jit::detail {

// The stream's counter: allocated and zeroed (on the stream) at its first
// use, kept for the process. Throws fa3jit::Error (NotSupported) when the
// first use is inside a CUDA-graph capture (allocation is not allowed
// there): one eager call on the stream first.
CUdeviceptr sm90_tile_counter(int device, CUstream stream);

}  // namespace fa3jit::detail
