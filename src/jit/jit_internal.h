// Pieces of the JIT shared by its own files and its tests.
#pragma once
#include <memory>

#include "jit/compiled_kernel.h"
#include "jit/disk_cache.h"
#include "jit/jit.h"

namespace fa3jit::jit {

// The key of the in-process tables: every field of the spec,
// NUL-separated (cheaper than cache_key(), which is computed on a miss).
std::string spec_table_key(const KernelSpec& spec);

// SHA-256 of everything that decides the cubin: the kernel sources, the
// spec, the full NVRTC option list, NVRTC's version, the CCCL version
// (cccl_version.h) and fa3jit::kVersion.
CacheKey cache_key(const KernelSpec& spec);
// The same with `cccl_version` in place of this process's CCCL version.
CacheKey cache_key(const KernelSpec& spec, const Digest& cccl_version);

// The compiled kernel of `spec` (memory table, then disk cache, then
// NVRTC); threads asking for one spec at once share a single compile.
std::shared_ptr<const CompiledKernel> compiled_kernel(const KernelSpec& spec, CompileStats* stats);

// Tests only: empties the in-memory table of compiled kernels so that the
// next request goes to the disk cache again. Loaded kernels stay loaded.
void forget_compiled_kernels_for_testing();

}  // namespace fa3jit::jit
