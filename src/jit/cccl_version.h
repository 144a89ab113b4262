// The CCCL version in the cache key. The CCCL headers NVRTC includes (via
// -I cccl_include_dir()) are not among the embedded sources, and a CCCL
// update within one NVRTC version keeps the include path, so without this
// the key would let such an update reuse cubins built from the old headers.
#pragma once
#include <string>

#include "jit/sha256.h"

namespace fa3jit::jit {

// SHA-256 of the first readable version header under `include_dir`:
// cuda/std/__cccl/version.h (CCCL_VERSION, newer CCCL), else
// cub/version.cuh (CUB_VERSION, older CCCL); with that header's name. The
// digest of "no-cccl" when `include_dir` is "" or neither can be read.
Digest cccl_version_digest(const std::string& include_dir);

// cccl_version_digest(cccl_include_dir()), computed once per process.
const Digest& cccl_version_digest_of_process();

}  // namespace fa3jit::jit
