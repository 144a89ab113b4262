#include "dispatch/tile_counter.h"

#include <map>
#include <mutex>
#include <thread>
#include <tuple>

#include "device/cuda_driver.h"

namespace fa3jit::detail {
namespace {

constexpr size_t kCounterBytes = 2 * sizeof(int);

// The eager counter of (device, stream). The per-thread default stream is
// one handle for a different stream in each thread: keyed by thread too.
CUdeviceptr stream_counter(const cuda::Driver& d, int device, CUstream stream) {
  static std::mutex mu;
  static std::map<std::tuple<int, CUstream, std::thread::id>, CUdeviceptr> counters;
  const std::thread::id thread = stream == CU_STREAM_PER_THREAD ? std::this_thread::get_id() : std::thread::id{};
  const std::lock_guard<std::mutex> lock(mu);
  const auto key = std::make_tuple(device, stream, thread);
  if (auto it = counters.find(key); it != counters.end()) return it->second;
  CUdeviceptr ptr = 0;
  cuda::check(d.cuMemAlloc(&ptr, kCounterBytes), "cuMemAlloc(tile counter)");
  if (const CUresult r = d.cuMemsetD8Async(ptr, 0, kCounterBytes, stream); r != CUDA_SUCCESS) {
    (void)d.cuMemFree(ptr);
    cuda::check(r, "cuMemsetD8Async(tile counter)");
  }
  counters.emplace(key, ptr);
  return ptr;
}

}  // namespace

TileCounter::TileCounter(int device, CUstream stream, void* workspace, int64_t workspace_bytes) : stream_(stream) {
  const cuda::Driver& d = cuda::require_driver();
  CUstreamCaptureStatus capture = CU_STREAM_CAPTURE_STATUS_NONE;
  cuda::check(d.cuStreamIsCapturing(stream, &capture), "cuStreamIsCapturing(tile counter)");
  if (capture == CU_STREAM_CAPTURE_STATUS_NONE) {
    ptr_ = stream_counter(d, device, stream);
    return;
  }
  if (workspace != nullptr && workspace_bytes >= int64_t(kCounterBytes)) {
    ptr_ = reinterpret_cast<CUdeviceptr>(workspace);
  } else {
    cuda::check(d.cuMemAllocAsync(&ptr_, kCounterBytes, stream), "cuMemAllocAsync(tile counter)");
    stream_ordered_ = true;
  }
  if (const CUresult r = d.cuMemsetD8Async(ptr_, 0, kCounterBytes, stream); r != CUDA_SUCCESS) {
    if (stream_ordered_) (void)d.cuMemFreeAsync(ptr_, stream);  // no destructor runs for a throwing constructor
    cuda::check(r, "cuMemsetD8Async(tile counter)");
  }
}

TileCounter::~TileCounter() {
  if (stream_ordered_) (void)cuda::require_driver().cuMemFreeAsync(ptr_, stream_);
}

void TileCounter::release() {
  if (!stream_ordered_) return;
  stream_ordered_ = false;
  cuda::check(cuda::require_driver().cuMemFreeAsync(ptr_, stream_), "cuMemFreeAsync(tile counter)");
}

}  // namespace fa3jit::detail
