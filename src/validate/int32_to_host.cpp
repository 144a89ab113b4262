#include "validate/int32_to_host.h"

#include <cstring>
#include <string>

#include "device/cuda_driver.h"
#include "validate/check_util.h"

namespace fa3jit::detail {

void copy_int32_on_host(const std::vector<Int32Span>& spans) {
  for (const Int32Span& s : spans)
    std::memcpy(s.dst->data(), static_cast<const int32_t*>(s.t->data) + s.first, size_t(s.count) * 4);
}

void copy_int32_from_cuda(const std::vector<Int32Span>& spans, int device_index, void* stream, const char* what) {
  const cuda::Driver& drv = cuda::require_driver();
  cuda::set_device(device_index);
  CUstream cs = static_cast<CUstream>(stream);
  CUstreamCaptureStatus capture = CU_STREAM_CAPTURE_STATUS_NONE;
  FA3JIT_CU(drv.cuStreamIsCapturing(cs, &capture));
  if (capture != CU_STREAM_CAPTURE_STATUS_NONE)
    fail(ErrorKind::InvalidValue,
         "check_metadata must be false while the stream is captured into a CUDA graph: checking copies ", what,
         " to the host and synchronizes");
  for (const Int32Span& s : spans) {
    const auto src = reinterpret_cast<CUdeviceptr>(static_cast<const int32_t*>(s.t->data) + s.first);
    FA3JIT_CU(drv.cuMemcpyDtoHAsync(s.dst->data(), src, size_t(s.count) * 4, cs));
  }
  FA3JIT_CU(drv.cuStreamSynchronize(cs));
}

}  // namespace fa3jit::detail
