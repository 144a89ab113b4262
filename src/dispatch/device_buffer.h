// Storage for outputs the caller did not provide: host memory for the CPU
// backend, device memory (freed when the last owner drops it) for CUDA.
#pragma once
#include <cstddef>
#include <memory>

#include "fa3jit/tensor.h"

namespace fa3jit::detail {

std::shared_ptr<void> allocate_buffer(const Device& device, size_t bytes);

}  // namespace fa3jit::detail
