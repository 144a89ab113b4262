// The kernel specializations `fa3jit warmup` precompiles. Each kernel
// family (sm80, sm90, ...) adds a source that lists its specs for a filter;
// the JIT's own selftest kernel is always listed, so warmup has work and a
// check even before any family is registered.
#pragma once
#include <string>
#include <vector>

#include "fa3jit/tensor.h"
#include "jit/jit.h"

namespace fa3jit::jit {

struct WarmupFilter {
  int arch = 90;                // the target GPU's arch: 80, 86, 89, 90, ...
  std::vector<int> head_dims;   // empty: the family's common head dims
  std::vector<DType> dtypes;    // empty: every input dtype the family supports
  int causal = -1;              // -1: both, 0: non-causal only, 1: causal only
  bool all_common = false;      // the family's full list of common specializations
};

struct WarmupItem {
  std::string family;  // "selftest", "sm80", ...
  KernelSpec spec;
};

using WarmupSource = std::vector<KernelSpec> (*)(const WarmupFilter&);

// Adds a family's list (thread-safe; a second source with the same family
// name replaces the first).
void add_warmup_source(const std::string& family, WarmupSource source);

// The selftest specs for `filter.arch`, then every registered family's.
std::vector<WarmupItem> warmup_specs(const WarmupFilter& filter);

}  // namespace fa3jit::jit
