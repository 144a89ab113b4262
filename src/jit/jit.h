// Run-time compilation of kernel specializations with NVRTC, a disk cache
// of the cubins, and loading/launching through the driver API.
#pragma once
#include <cuda.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fa3jit::jit {

// One kernel specialization: which file to compile, which (template)
// kernel in it, and the options. Everything that changes the machine code
// must be in here, since the cache key is a hash of it.
struct KernelSpec {
  std::string entry_file;   // relative to kernels/, e.g. "sm80/fwd.cu"
  std::string kernel_name;  // name expression, e.g. "fa3jit_k::sm80_fwd<128, 64, ...>"
  std::vector<std::string> options;  // extra NVRTC options, e.g. "-DFA3JIT_HEADDIM=128"
  int arch = 80;            // 80, 86, 89, 90, ...
  bool arch_specific = false;  // sm_90a (wgmma, setmaxnreg)
  // Human-readable description of the key (logs, warmup, errors).
  std::string describe() const;
};

struct CompileStats {
  bool from_disk_cache = false;
  bool from_memory = false;
  double seconds = 0;  // compile or load time
};

// The cubin of a spec: from the in-memory table, the disk cache, or a fresh
// NVRTC compile (then written to the disk cache). Needs no GPU. Throws
// fa3jit::Error (Runtime) with NVRTC's full log when a compile fails.
std::vector<char> get_cubin(const KernelSpec& spec, CompileStats* stats = nullptr);

struct Kernel {
  CUfunction function = nullptr;
  int num_regs = 0;
  int local_bytes = 0;  // spills show here
};

// The loaded kernel for the device `device_index` (its primary context is
// made current). Loaded once per device; the function is cached.
const Kernel& get_kernel(const KernelSpec& spec, int device_index, CompileStats* stats = nullptr);

struct LaunchConfig {
  unsigned grid[3] = {1, 1, 1};
  unsigned block[3] = {1, 1, 1};
  size_t dynamic_smem = 0;  // the kernel's max dynamic smem attribute is raised to fit
  CUstream stream = nullptr;
  // Thread-block cluster shape (sm_90+); {1, 1, 1} launches no cluster.
  unsigned cluster[3] = {1, 1, 1};
  // Programmatic dependent launch (sm_90+): the kernel may start before the
  // previous kernel in the stream finishes; it must wait for that kernel's
  // writes itself (griddepcontrol.wait).
  bool programmatic_dependent = false;
};
// Launches with cuLaunchKernelEx; `args` are pointers to the kernel's
// parameters as for cuLaunchKernel.
void launch(const Kernel& kernel, const LaunchConfig& config, void** args);

// The disk cache directory in use: $FA3JIT_CACHE_DIR, else
// $XDG_CACHE_HOME/fa3jit, else ~/.cache/fa3jit.
std::string cache_dir();
// Total bytes and number of entries in the cache directory.
struct CacheUsage {
  uint64_t bytes = 0;
  uint64_t entries = 0;
};
CacheUsage cache_usage();

// NVRTC's version as "major.minor".
std::string nvrtc_version();

}  // namespace fa3jit::jit
