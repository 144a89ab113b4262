// Host copies of the int32 sequence metadata (cu_seqlens, seqused,
// page_table), so their values can be checked. CPU tensors are read in
// place; CUDA tensors are copied with the driver on the caller's stream
// (then one sync) when args.check_metadata is set, else left unread.
#pragma once
#include <cstdint>
#include <vector>

#include "fa3jit/args.h"
#include "validate/layout.h"

namespace fa3jit::detail {

struct HostMetadata {
  bool readable = false;  // false: on a GPU with check_metadata off
  std::vector<int32_t> cu_seqlens_q, cu_seqlens_k, seqused_q, seqused_k;  // empty when not given
  // page_table[b][j] is page_table_values[page_table_origin + b * page_table_stride + j].
  std::vector<int32_t> page_table_values;
  int64_t page_table_origin = 0;
  int64_t page_table_stride = 0;

  int page(int b, int j) const {
    return page_table_values[size_t(page_table_origin + b * page_table_stride + j)];
  }
};

HostMetadata read_metadata(const VarlenArgs& args, const Layout& layout, void* stream);

}  // namespace fa3jit::detail
