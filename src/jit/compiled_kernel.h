// What one NVRTC compile produces and the cache stores: the cubin and the
// mangled name of the kernel in it (from nvrtcGetLoweredName).
#pragma once
#include <string>
#include <vector>

namespace fa3jit::jit {

struct CompiledKernel {
  std::vector<char> cubin;
  std::string lowered_name;
};

}  // namespace fa3jit::jit
