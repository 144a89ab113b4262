// NVRTC matches `#include "x"` only against the header names it was given,
// never relative to the including header (checked with NVRTC 13.0:
// common/mask.cuh's `#include "params.cuh"` is "cannot open source file").
// So before compiling, quoted includes are rewritten to their path relative
// to kernels/, resolved the way a C compiler would: first next to the
// including file, then from kernels/ itself.
#pragma once
#include <functional>
#include <string>
#include <string_view>

namespace fa3jit::jit {

// "a/./b/../c.cuh" -> "a/c.cuh"; "" when the path climbs above the root.
std::string normalize_kernel_path(std::string_view path);

// `text` is the file at `file_path` (relative to kernels/). Every line
// `#include "x"` whose target exists (per `exists`, given normalized paths)
// gets x replaced by the resolved path. Line count is unchanged, so NVRTC's
// line numbers still match the source.
std::string resolve_relative_includes(std::string_view text, std::string_view file_path,
                                      const std::function<bool(const std::string&)>& exists);

}  // namespace fa3jit::jit
