#include "dispatch/tile_counter.h"

#include <map>
#include <mutex>
#include <utility>

#include "device/cuda_driver.h"
#include "fa3jit/error.h"

namespace fa3jit::detail {

CUdeviceptr sm90_tile_counter(int device, CUstream stream) {
  static std::mutex mu;
  static std::map<std::pair<int, CUstream>, CUdeviceptr> counters;
  const std::lock_guard<std::mutex> lock(mu);
  const auto key = std::make_pair(device, stream);
  if (auto it = counters.find(key); it != counters.end()) return it->second;
  const cuda::Driver& d = cuda::require_driver();
  CUstreamCaptureStatus capture = CU_STREAM_CAPTURE_STATUS_NONE;
  cuda::check(d.cuStreamIsCapturing(stream, &capture), "cuStreamIsCapturing(tile counter)");
  if (capture != CU_STREAM_CAPTURE_STATUS_NONE)
    throw Error(ErrorKind::NotSupported,
                "FA3JIT_SM90_SCHED=dynamic: the stream's first call is inside a CUDA-graph capture, where its tile "
                "counter cannot be allocated; run one call on the stream before capturing");
  CUdeviceptr ptr = 0;
  cuda::check(d.cuMemAlloc(&ptr, 2 * sizeof(int)), "cuMemAlloc(tile counter)");
  const CUresult r = d.cuMemsetD8Async(ptr, 0, 2 * sizeof(int), stream);
  if (r != CUDA_SUCCESS) {
    (void)d.cuMemFree(ptr);
    cuda::check(r, "cuMemsetD8Async(tile counter)");
  }
  counters.emplace(key, ptr);
  return ptr;
}

}  // namespace fa3jit::detail
