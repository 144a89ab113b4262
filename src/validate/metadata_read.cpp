#include "validate/metadata_read.h"

#include <algorithm>
#include <cstring>

#include "device/cuda_driver.h"
#include "validate/check_util.h"

namespace fa3jit::detail {
namespace {

// One int32 span to bring to the host: `count` elements from element
// `first` of t.data.
struct Span {
  const Tensor* t;
  int64_t first, count;
  std::vector<int32_t>* dst;
};

void copy_on_host(const std::vector<Span>& spans) {
  for (const Span& s : spans)
    std::memcpy(s.dst->data(), static_cast<const int32_t*>(s.t->data) + s.first, size_t(s.count) * 4);
}

void copy_from_cuda(const std::vector<Span>& spans, int device_index, void* stream) {
  const cuda::Driver& drv = cuda::require_driver();
  cuda::set_device(device_index);
  CUstream cs = static_cast<CUstream>(stream);
  CUstreamCaptureStatus capture = CU_STREAM_CAPTURE_STATUS_NONE;
  FA3JIT_CU(drv.cuStreamIsCapturing(cs, &capture));
  if (capture != CU_STREAM_CAPTURE_STATUS_NONE)
    fail(ErrorKind::InvalidValue,
         "check_metadata must be false while the stream is captured into a CUDA graph: checking "
         "copies cu_seqlens / seqused / page_table to the host and synchronizes");
  for (const Span& s : spans) {
    const auto src = reinterpret_cast<CUdeviceptr>(static_cast<const int32_t*>(s.t->data) + s.first);
    FA3JIT_CU(drv.cuMemcpyDtoHAsync(s.dst->data(), src, size_t(s.count) * 4, cs));
  }
  FA3JIT_CU(drv.cuStreamSynchronize(cs));
}

}  // namespace

HostMetadata read_metadata(const VarlenArgs& a, const Layout& L, void* stream) {
  HostMetadata m;
  std::vector<Span> spans;
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
    copy_on_host(spans);
  } else if (!a.check_metadata) {
    return m;  // unreadable: the kernels trust it
  } else if (spans.empty()) {
    // nothing to copy
  } else if (dev.type == DeviceType::CUDA) {
    copy_from_cuda(spans, dev.index, stream);
  } else {
    fail(ErrorKind::NotSupported, "check_metadata on ", device_name(dev),
         ": metadata on this device cannot be read; pass check_metadata = false");
  }
  m.readable = true;
  return m;
}

}  // namespace fa3jit::detail
