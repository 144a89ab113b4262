#include "dispatch/device_buffer.h"

#include <cstdlib>

#include "device/cuda_driver.h"
#include "fa3jit/error.h"

namespace fa3jit::detail {

std::shared_ptr<void> allocate_buffer(const Device& device, size_t bytes) {
  bytes = bytes ? bytes : 1;
  switch (device.type) {
    case DeviceType::CPU: {
      void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
      if (!p) throw Error(ErrorKind::Runtime, "out of host memory allocating " + std::to_string(bytes) + " bytes");
      return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
    }
    case DeviceType::CUDA: {
      const cuda::Driver& d = cuda::require_driver();
      cuda::set_device(device.index);
      CUdeviceptr p = 0;
      FA3JIT_CU(d.cuMemAlloc(&p, bytes));
      return std::shared_ptr<void>(reinterpret_cast<void*>(p), [](void* q) {
        if (const cuda::Driver* dd = cuda::driver()) dd->cuMemFree(reinterpret_cast<CUdeviceptr>(q));
      });
    }
    case DeviceType::MUSA:
      break;
  }
  throw Error(ErrorKind::NotSupported, "device " + device_name(device) + " is not supported yet");
}

Tensor contiguous_view(void* data, DType dtype, int ndim, const int64_t* shape, const Device& device) {
  Tensor t;
  t.data = data;
  t.dtype = dtype;
  t.ndim = ndim;
  t.device = device;
  int64_t st = 1;
  for (int i = ndim - 1; i >= 0; --i) {
    t.shape[i] = shape[i];
    t.stride[i] = st;
    st *= shape[i];
  }
  return t;
}

Tensor allocate_contiguous(const Device& device, DType dtype, int ndim, const int64_t* shape,
                           std::shared_ptr<void>& storage) {
  size_t bytes = dtype_size(dtype);
  for (int i = 0; i < ndim; ++i) bytes *= size_t(shape[i]);
  storage = allocate_buffer(device, bytes);
  return contiguous_view(storage.get(), dtype, ndim, shape, device);
}

}  // namespace fa3jit::detail
