#include "jit/warmup.h"

#include <map>
#include <mutex>

namespace fa3jit::jit {
namespace {

struct Registry {
  std::mutex mu;
  std::map<std::string, WarmupSource> sources;
};

Registry& registry() {
  static Registry r;
  return r;
}

// The selftest kernel (kernels/jit_selftest.cu) for the arch; sm_90 also
// gets its arch-specific build, which the Hopper kernels use.
std::vector<KernelSpec> selftest_specs(const WarmupFilter& f) {
  std::vector<KernelSpec> specs;
  KernelSpec s;
  s.entry_file = "jit_selftest.cu";
  s.kernel_name = "fa3jit_k::fa3jit_selftest_add<1>";
  s.arch = f.arch;
  specs.push_back(s);
  if (f.arch == 90) {
    s.arch_specific = true;
    specs.push_back(s);
  }
  return specs;
}

}  // namespace

void add_warmup_source(const std::string& family, WarmupSource source) {
  std::lock_guard<std::mutex> lock(registry().mu);
  registry().sources[family] = source;
}

std::vector<WarmupItem> warmup_specs(const WarmupFilter& filter) {
  std::vector<WarmupItem> items;
  for (KernelSpec& s : selftest_specs(filter)) items.push_back({"selftest", std::move(s)});
  std::map<std::string, WarmupSource> sources;
  {
    std::lock_guard<std::mutex> lock(registry().mu);
    sources = registry().sources;
  }
  for (const auto& [family, source] : sources)
    for (KernelSpec& s : source(filter)) items.push_back({family, std::move(s)});
  return items;
}

}  // namespace fa3jit::jit
