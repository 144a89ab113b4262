// The 4-D tiled tensor maps (TMA descriptors) of q, k and v for the sm90
// kernel: dims (head dim, heads, rows, batch-or-page), 128-byte swizzle,
// boxes of 64 columns. Built on the host with cuTensorMapEncodeTiled.
#pragma once
#include <cuda.h>

#include <cstddef>
#include <cstdint>

#include "fa3jit/tensor.h"

namespace fa3jit::detail {

// A strided 4-D view in elements (the head dim contiguous).
struct TmaView {
  const void* data = nullptr;
  int64_t cols = 0, heads = 0, rows = 0, batches = 0;
  int64_t head_stride = 0, row_stride = 0, batch_stride = 0;
  bool operator==(const TmaView&) const = default;
};

// Throws fa3jit::Error (NotSupported) naming `name` when TMA cannot address
// the view: data not 16-byte aligned, or a stride (of a dim longer than 1)
// not a multiple of 16 bytes.
void check_tma_view(const char* name, const TmaView& v, DType dtype);

// The tensor map of a checked view with a box of 64 columns x box_heads x
// box_rows x 1, 128-byte swizzle, out-of-bounds elements read as zero.
CUtensorMap encode_tma(const char* name, const TmaView& v, DType dtype, int box_heads, int box_rows);

}  // namespace fa3jit::detail
