#include "validate/metadata_read.h"

#include <algorithm>

#include "validate/check_util.h"
#include "validate/int32_to_host.h"

namespace fa3jit::detail {

HostMetadata read_metadata(const VarlenArgs& a, const Layout& L, void* stream) {
  HostMetadata m;
  std::vector<Int32Span> spans;
  auto whole = [&](const Tensor& t, std::vector<int32_t>& dst) {
    if (!t.defined()) return;
    dst.resize(size_t(t.numel()));
    if (!dst.empty()) spans.push_back({&t, 0, t.numel(), &dst});
  };
  whole(a.cu_seqlens_q, m.cu_seqlens_q);
  whole(a.cu_seqlens_k, m.cu_seqlens_k);
  whole(a.seqused_q, m.seqused_q);
  whole(a.seqused_k, m.seqused_k);
  if (L.paged && L.batch > 0 && L.max_pages_per_seq > 0) {
    // Rows may have any stride (even negative): copy the span they cover.
    const int64_t stride = a.page_table.stride[0], last_row = int64_t(L.batch - 1) * stride;
    const int64_t lo = std::min<int64_t>(0, last_row), hi = std::max<int64_t>(0, last_row) + L.max_pages_per_seq;
    m.page_table_stride = stride;
    m.page_table_origin = -lo;
    m.page_table_values.resize(size_t(hi - lo));
    spans.push_back({&a.page_table, lo, hi - lo, &m.page_table_values});
  }

  const Device& dev = a.q.device;
  if (dev.type == DeviceType::CPU) {
    copy_int32_on_host(spans);
  } else if (!a.check_metadata) {
    return m;  // unreadable: the kernels trust it
  } else if (spans.empty()) {
    // nothing to copy
  } else if (dev.type == DeviceType::CUDA) {
    copy_int32_from_cuda(spans, dev.index, stream, "cu_seqlens / seqused / page_table");
  } else {
    fail(ErrorKind::NotSupported, "check_metadata on ", device_name(dev),
         ": metadata on this device cannot be read; pass check_metadata = false");
  }
  m.readable = true;
  return m;
}

}  // namespace fa3jit::detail
