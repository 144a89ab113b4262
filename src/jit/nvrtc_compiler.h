// The NVRTC side of the JIT: the kernel sources as NVRTC sees them, the
// option list of a spec, and the compile itself. No GPU needed.
#pragma once
#include <string>
#include <vector>

#include "jit/compiled_kernel.h"
#include "jit/jit.h"
#include "jit/sha256.h"

namespace fa3jit::jit {

// The embedded kernels/ files with quoted includes resolved (see
// include_rewrite.h), and one digest of all of them for the cache key.
struct KernelSources {
  std::vector<std::string> names;  // relative to kernels/
  std::vector<std::string> texts;
  Digest digest;
  const std::string* find(const std::string& name) const;
};
const KernelSources& kernel_sources();

// The toolkit's CCCL include dir (for cuda::ptx), found at run time:
// $CUDA_HOME/include/cccl, $CUDA_PATH/include/cccl,
// /usr/local/cuda/include/cccl, then the build-time toolkit's; "" if none.
// Looked up once per process.
const std::string& cccl_include_dir();
// The same lookup, done again now (tests point $CUDA_HOME elsewhere).
std::string find_cccl_include_dir();

// Throws fa3jit::Error (InvalidValue) naming the field when `spec` cannot
// be compiled at all (unknown entry file, empty name, arch NVRTC lacks).
void check_spec(const KernelSpec& spec);

// Every option passed to NVRTC for `spec`: the defaults, then spec.options.
std::vector<std::string> nvrtc_options(const KernelSpec& spec);

// Compiles with NVRTC. Throws fa3jit::Error (Runtime) with spec.describe()
// and NVRTC's full log on failure.
CompiledKernel compile_with_nvrtc(const KernelSpec& spec);

}  // namespace fa3jit::jit
