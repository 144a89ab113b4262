// Storage for outputs the caller did not provide: host memory for the CPU
// backend, device memory (freed when the last owner drops it) for CUDA.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "fa3jit/tensor.h"

namespace fa3jit::detail {

std::shared_ptr<void> allocate_buffer(const Device& device, size_t bytes);

// A dense row-major tensor over `data` (strides follow from the shape).
Tensor contiguous_view(void* data, DType dtype, int ndim, const int64_t* shape, const Device& device);

// A new dense row-major tensor on `device`; `storage` owns its memory.
Tensor allocate_contiguous(const Device& device, DType dtype, int ndim, const int64_t* shape,
                           std::shared_ptr<void>& storage);

}  // namespace fa3jit::detail
