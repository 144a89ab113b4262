#include "dispatch/split_kv.h"

#include "../../kernels/common/combine.cuh"
#include "device/cuda_driver.h"
#include "dispatch/sm80_specs.h"
#include "fa3jit/error.h"
#include "jit/jit.h"

namespace fa3jit::detail {

std::string split_combine_grid_error(const fa3jit_k::AttnParams& p, int num_splits) {
  constexpr int64_t kMaxGridYZ = 65535;
  if (num_splits <= 1 || (p.h <= kMaxGridYZ && p.batch <= kMaxGridYZ)) return "";
  return "split-KV (num_splits = " + std::to_string(num_splits) + "): h = " + std::to_string(p.h) +
         " and batch = " + std::to_string(p.batch) + " must each be at most 65535 (the combine kernel's grid)";
}

void run_with_split_combine(const fa3jit_k::AttnParams& p, DType out_dtype, int arch, const DeviceInfo& dev,
                            CUstream stream, void* workspace, const std::function<void(float* ws)>& launch_forward) {
  if (p.num_splits <= 1) {
    launch_forward(nullptr);
    return;
  }
  if (const std::string why = split_combine_grid_error(p, p.num_splits); !why.empty())
    throw Error(ErrorKind::NotSupported, why);
  const jit::Kernel& combine = jit::get_kernel(combine_spec(arch, out_dtype), dev.index);
  const cuda::Driver& drv = cuda::require_driver();
  // The caller's workspace keeps the stream free of allocation nodes (a
  // captured graph holds the two kernels only, and the forward's
  // programmatic launch follows the kernel before it).
  const bool own = workspace == nullptr;
  CUdeviceptr ws = reinterpret_cast<CUdeviceptr>(workspace);
  const size_t bytes = size_t(fa3jit_k::split_workspace_floats(p)) * sizeof(float);
  if (own) FA3JIT_CU(drv.cuMemAllocAsync(&ws, bytes, stream));
  float* ws_ptr = reinterpret_cast<float*>(ws);
  try {
    launch_forward(ws_ptr);
    jit::LaunchConfig cc;
    cc.grid[0] = unsigned((p.max_seqlen_q + fa3jit_k::kCombineRows - 1) / fa3jit_k::kCombineRows);
    cc.grid[1] = unsigned(p.h);
    cc.grid[2] = unsigned(p.batch);
    cc.block[0] = unsigned(fa3jit_k::kCombineThreads);
    cc.stream = stream;
    cc.programmatic_dependent = arch >= 90;  // the combine waits for the forward itself (common/pdl.cuh)
    fa3jit_k::AttnParams params = p;
    const float* ws_const = ws_ptr;
    void* cargs[] = {&params, &ws_const};
    jit::launch(combine, cc, cargs);
  } catch (...) {
    if (own) drv.cuMemFreeAsync(ws, stream);
    throw;
  }
  if (own) FA3JIT_CU(drv.cuMemFreeAsync(ws, stream));
}

}  // namespace fa3jit::detail
