// The kernel sources (kernels/**), embedded at build time by
// cmake/embed_kernels.cmake. Paths are relative to kernels/.
#pragma once
#include <cstddef>
#include <span>

namespace fa3jit::jit {

struct EmbeddedFile {
  const char* path;  // e.g. "common/mask.cuh"
  const char* text;
  size_t size;
};

std::span<const EmbeddedFile> embedded_kernel_files();

}  // namespace fa3jit::jit
