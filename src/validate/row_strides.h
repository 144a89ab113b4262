// Batch / row / head strides of the row-major q-like tensors (q, k, v,
// qv, out, k_new, ...), as AttnParams and AppendParams take them.
#pragma once
#include <cstdint>

#include "fa3jit/tensor.h"

namespace fa3jit::detail {

struct RowStrides {
  int64_t batch, row, head;
};

// (rows, heads, dim) has no batch stride; (b, rows, heads, dim) and paged
// (pages, page_size, heads, dim) do. An absent tensor has none.
inline RowStrides row_strides_of(const Tensor& t) {
  if (!t.defined()) return {0, 0, 0};
  if (t.ndim == 3) return {0, t.stride[0], t.stride[1]};
  return {t.stride[0], t.stride[1], t.stride[2]};
}

}  // namespace fa3jit::detail
