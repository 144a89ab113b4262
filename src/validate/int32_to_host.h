// Host copies of int32 metadata (cu_seqlens, seqused, page tables, cache
// lengths, ...) so that their values can be checked: the one copy step of
// flash_attn_varlen's and flash_attn_with_kvcache's metadata checks.
#pragma once
#include <cstdint>
#include <vector>

#include "fa3jit/tensor.h"

namespace fa3jit::detail {

// `count` int32 elements from element `first` of t->data, into *dst.
struct Int32Span {
  const Tensor* t;
  int64_t first, count;
  std::vector<int32_t>* dst;
};

// Copies every span from host memory.
void copy_int32_on_host(const std::vector<Int32Span>& spans);

// Copies every span from CUDA device `device_index` on `stream` and waits.
// Refused (InvalidValue) while the stream is captured into a CUDA graph;
// `what` names the arguments the check copies, for that message.
void copy_int32_from_cuda(const std::vector<Int32Span>& spans, int device_index, void* stream, const char* what);

}  // namespace fa3jit::detail
