#include "testing/run_kvcache.h"

#include <cstring>

#include "device/cuda_driver.h"
#include "dispatch/device_buffer.h"
#include "fa3jit/error.h"

namespace fa3jit::testing {
namespace {

size_t bytes_of(const Tensor& t) { return size_t(t.numel()) * dtype_size(t.dtype); }

HostTensor host_copy_of(const HostTensor& t) { return t; }

}  // namespace

KvcacheRun run_kvcache(const KvcacheProblem& problem, const Device& device, KernelPath path) {
  if (device.type == DeviceType::CPU) {
    KvcacheProblem copy = problem;  // the run writes the caches in place
    KvcacheArgs a = copy.args();
    a.path = path;
    flash_attn_with_kvcache(a, nullptr);
    return {host_copy_of(copy.k_cache), host_copy_of(copy.v_cache), host_copy_of(copy.out), host_copy_of(copy.lse)};
  }
  DeviceKvcache dev(problem, device);
  dev.args().path = path;
  flash_attn_with_kvcache(dev.args(), nullptr);
  FA3JIT_CU(cuda::require_driver().cuStreamSynchronize(nullptr));
  return dev.results();
}

DeviceKvcache::DeviceKvcache(const KvcacheProblem& problem, const Device& device) : device_(device) {
  cuda::set_device(device.index);
  args_ = problem.args();
  for (Tensor* t : {&args_.q, &args_.k_cache, &args_.v_cache, &args_.k, &args_.v, &args_.rotary_cos, &args_.rotary_sin,
                    &args_.cache_batch_idx, &args_.cache_leftpad, &args_.page_table, &args_.cu_seqlens_q,
                    &args_.cu_seqlens_k_new, &args_.rotary_seqlens, &args_.out, &args_.softmax_lse})
    *t = upload(*t);
  if (Tensor* lens = std::get_if<Tensor>(&args_.cache_seqlens)) *lens = upload(*lens);
  const cuda::Driver& d = cuda::require_driver();
  for (const Tensor* t : {&args_.out, &args_.softmax_lse})
    if (t->defined()) FA3JIT_CU(d.cuMemsetD8Async(reinterpret_cast<CUdeviceptr>(t->data), 0xFF, bytes_of(*t), nullptr));
  FA3JIT_CU(d.cuStreamSynchronize(nullptr));
}

DeviceKvcache::~DeviceKvcache() {
  if (const cuda::Driver* d = cuda::driver())
    for (void* p : owned_) d->cuMemFree(reinterpret_cast<CUdeviceptr>(p));
}

Tensor DeviceKvcache::upload(const Tensor& host) {
  if (!host.defined()) return host;
  const cuda::Driver& d = cuda::require_driver();
  CUdeviceptr p = 0;
  FA3JIT_CU(d.cuMemAlloc(&p, bytes_of(host) + 16));
  owned_.push_back(reinterpret_cast<void*>(p));
  if (bytes_of(host)) FA3JIT_CU(d.cuMemcpyHtoD(p, host.data, bytes_of(host)));
  Tensor t = host;
  t.data = reinterpret_cast<void*>(p);
  t.device = device_;
  return t;
}

Tensor DeviceKvcache::workspace(int64_t bytes) {
  const cuda::Driver& d = cuda::require_driver();
  const int64_t floats = (bytes + 3) / 4;
  CUdeviceptr p = 0;
  FA3JIT_CU(d.cuMemAlloc(&p, size_t(floats) * 4 + 16));
  owned_.push_back(reinterpret_cast<void*>(p));
  FA3JIT_CU(d.cuMemsetD8Async(p, 0xFF, size_t(floats) * 4 + 16, nullptr));
  FA3JIT_CU(d.cuCtxSynchronize());
  return detail::contiguous_view(reinterpret_cast<void*>(p), DType::f32, 1, &floats, device_);
}

void DeviceKvcache::upload_into(const Tensor& dst, const HostTensor& src) {
  if (src.nbytes() != bytes_of(dst))
    throw Error(ErrorKind::InvalidValue, "upload_into: " + std::to_string(src.nbytes()) + " bytes into a tensor of " +
                                             std::to_string(bytes_of(dst)));
  FA3JIT_CU(cuda::require_driver().cuMemcpyHtoD(reinterpret_cast<CUdeviceptr>(dst.data), src.data(), src.nbytes()));
}

HostTensor DeviceKvcache::download(const Tensor& t) const {
  if (!t.defined()) return HostTensor();
  HostTensor h(t.dtype, std::vector<int64_t>(t.shape.begin(), t.shape.begin() + t.ndim));
  if (h.nbytes())
    FA3JIT_CU(cuda::require_driver().cuMemcpyDtoH(h.data(), reinterpret_cast<CUdeviceptr>(t.data), h.nbytes()));
  return h;
}

KvcacheRun DeviceKvcache::results() const {
  return {download(args_.k_cache), download(args_.v_cache), download(args_.out), download(args_.softmax_lse)};
}

}  // namespace fa3jit::testing
