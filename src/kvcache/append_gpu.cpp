// The append + rotary step on a CUDA device: one JIT kernel
// (kernels/kvcache/append_rotary.cu), launched on the caller's stream.
#include <string>

#include "device/cuda_driver.h"
#include "kvcache/append_step.h"

namespace fa3jit::detail {

jit::KernelSpec append_spec(DType dtype, int arch) {
  jit::KernelSpec spec;
  spec.entry_file = "kvcache/append_rotary.cu";
  spec.kernel_name = "fa3jit_k::append_rotary<" + std::to_string(int(dtype)) + ">";
  spec.arch = arch;
  return spec;
}

std::vector<jit::KernelSpec> kvcache_warmup_family(const jit::WarmupFilter& f) {
  if (f.arch < 80) return {};
  const std::vector<DType> dtypes = f.dtypes.empty() ? std::vector<DType>{DType::bf16, DType::f16} : f.dtypes;
  std::vector<jit::KernelSpec> specs;
  for (DType dt : dtypes) specs.push_back(append_spec(dt, f.arch));
  return specs;
}

const jit::Kernel& append_kernel(DType dtype, const DeviceInfo& dev) {
  cuda::set_device(dev.index);
  return jit::get_kernel(append_spec(dtype, dev.major * 10 + dev.minor), dev.index);
}

void append_on_gpu(const jit::Kernel& kernel, const fa3jit_k::AppendParams& p, CUstream stream) {
  if (p.batch == 0) return;
  // Blocks: one per new token, one per q row to rotate, one for seqused_k.
  const int64_t blocks = int64_t(p.k_new ? p.total_new : 0) + (p.q_rot ? p.total_q : 0) + 1;
  jit::LaunchConfig cfg;
  cfg.grid[0] = unsigned(blocks);
  cfg.block[0] = 128;
  cfg.stream = stream;
  fa3jit_k::AppendParams params = p;
  void* args[] = {&params};
  jit::launch(kernel, cfg, args);
}

}  // namespace fa3jit::detail
