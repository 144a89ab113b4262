// Loading compiled kernels onto a device and launching them.
#include <chrono>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "device/cuda_driver.h"
#include "fa3jit/error.h"
#include "jit/jit_internal.h"
#include "jit/trace.h"

namespace fa3jit::jit {
namespace {

struct LoadedEntry {
  std::once_flag once;
  Kernel kernel;
};

struct LoadedTable {
  std::mutex mu;
  // Key: device index, then spec_table_key(). Entries are never
  // removed, so references to their Kernel stay valid.
  std::unordered_map<std::string, std::unique_ptr<LoadedEntry>> map;
};

LoadedTable& loaded_table() {
  static LoadedTable t;
  return t;
}

// A cubin runs on its own major arch at an equal or higher minor
// (sm_80 on sm_86, not on sm_90); an sm_XYa cubin only on sm_XY.
void check_arch_fits_device(const KernelSpec& spec, int device_index) {
  const cuda::Driver& d = cuda::require_driver();
  CUdevice dev;
  FA3JIT_CU(d.cuDeviceGet(&dev, device_index));
  int major = 0, minor = 0;
  FA3JIT_CU(d.cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev));
  FA3JIT_CU(d.cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev));
  const int device_arch = major * 10 + minor;
  const bool fits = spec.arch_specific ? spec.arch == device_arch
                                       : (spec.arch / 10 == major && spec.arch <= device_arch);
  if (!fits)
    throw Error(ErrorKind::InvalidValue, "KernelSpec.arch sm_" + std::to_string(spec.arch) +
                                             (spec.arch_specific ? "a" : "") + " cannot run on device " +
                                             std::to_string(device_index) + " (sm_" + std::to_string(device_arch) +
                                             "); compile for sm_" + std::to_string(device_arch));
}

Kernel load(const KernelSpec& spec, int device_index, CompileStats* stats) {
  cuda::set_device(device_index);
  check_arch_fits_device(spec, device_index);
  const auto t0 = std::chrono::steady_clock::now();
  std::shared_ptr<const CompiledKernel> compiled = compiled_kernel(spec, stats);
  const auto t1 = std::chrono::steady_clock::now();
  const cuda::Driver& d = cuda::require_driver();
  CUmodule module = nullptr;
  FA3JIT_CU(d.cuModuleLoadData(&module, compiled->cubin.data()));
  if (trace_enabled()) {
    const auto ms = [](auto a, auto b) { return std::to_string(std::chrono::duration<double, std::milli>(b - a).count()); };
    trace("loaded " + spec.describe() + ": cubin ready in " + ms(t0, t1) + " ms, module load " +
          ms(t1, std::chrono::steady_clock::now()) + " ms");
  }
  Kernel k;
  FA3JIT_CU(d.cuModuleGetFunction(&k.function, module, compiled->lowered_name.c_str()));
  FA3JIT_CU(d.cuFuncGetAttribute(&k.num_regs, CU_FUNC_ATTRIBUTE_NUM_REGS, k.function));
  FA3JIT_CU(d.cuFuncGetAttribute(&k.local_bytes, CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES, k.function));
  return k;  // the module stays loaded for the life of the process
}

// Raises a kernel's dynamic shared memory limit to `bytes` when it is lower
// (the default limit is 48 KiB); each kernel is raised once per new size.
void ensure_dynamic_smem(CUfunction f, size_t bytes) {
  static std::mutex mu;
  static std::unordered_map<CUfunction, size_t> raised;
  std::lock_guard<std::mutex> lock(mu);
  size_t& current = raised[f];
  if (current >= bytes) return;
  FA3JIT_CU(cuda::require_driver().cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, int(bytes)));
  current = bytes;
}

}  // namespace

const Kernel& get_kernel(const KernelSpec& spec, int device_index, CompileStats* stats) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point t0 = Clock::now();
  if (device_index < 0)
    throw Error(ErrorKind::InvalidValue, "device index must be >= 0 (got " + std::to_string(device_index) + ")");
  std::string key = std::to_string(device_index);
  key += '\0';
  key += spec_table_key(spec);
  LoadedEntry* entry = nullptr;
  {
    LoadedTable& t = loaded_table();
    std::lock_guard<std::mutex> lock(t.mu);
    std::unique_ptr<LoadedEntry>& e = t.map[key];
    if (!e) e = std::make_unique<LoadedEntry>();
    entry = e.get();
  }
  bool loaded_now = false;
  // A throwing load leaves the once_flag unset, so the next call retries.
  std::call_once(entry->once, [&] {
    entry->kernel = load(spec, device_index, stats);
    loaded_now = true;
  });
  if (!loaded_now) {
    cuda::set_device(device_index);
    if (stats) *stats = CompileStats{false, true, std::chrono::duration<double>(Clock::now() - t0).count()};
  } else if (stats) {
    stats->seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  }
  return entry->kernel;
}

void launch(const Kernel& kernel, const LaunchConfig& config, void** args) {
  if (!kernel.function)
    throw Error(ErrorKind::InvalidValue, "launch: the kernel is not loaded (Kernel.function is null)");
  for (int i = 0; i < 3; ++i)
    if (config.grid[i] == 0 || config.block[i] == 0 || config.cluster[i] == 0)
      throw Error(ErrorKind::InvalidValue, "launch: LaunchConfig grid, block and cluster sizes must be >= 1");
  const cuda::Driver& d = cuda::require_driver();
  if (config.dynamic_smem > 48 * 1024) ensure_dynamic_smem(kernel.function, config.dynamic_smem);
  CUlaunchConfig lc{};
  lc.gridDimX = config.grid[0];
  lc.gridDimY = config.grid[1];
  lc.gridDimZ = config.grid[2];
  lc.blockDimX = config.block[0];
  lc.blockDimY = config.block[1];
  lc.blockDimZ = config.block[2];
  lc.sharedMemBytes = unsigned(config.dynamic_smem);
  lc.hStream = config.stream;
  CUlaunchAttribute attrs[2]{};
  unsigned n = 0;
  if (config.cluster[0] * config.cluster[1] * config.cluster[2] > 1) {
    attrs[n].id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
    attrs[n].value.clusterDim.x = config.cluster[0];
    attrs[n].value.clusterDim.y = config.cluster[1];
    attrs[n].value.clusterDim.z = config.cluster[2];
    ++n;
  }
  if (config.programmatic_dependent) {
    attrs[n].id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
    attrs[n].value.programmaticStreamSerializationAllowed = 1;
    ++n;
  }
  lc.attrs = n ? attrs : nullptr;
  lc.numAttrs = n;
  FA3JIT_CU(d.cuLaunchKernelEx(&lc, kernel.function, args, nullptr));
}

}  // namespace fa3jit::jit
