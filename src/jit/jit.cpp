// KernelSpec, the cache key, and the in-process table of compiled kernels.
#include <nvrtc.h>

#include <chrono>
#include <future>
#include <mutex>
#include <unordered_map>

#include "fa3jit/version.h"
#include "jit/cccl_version.h"
#include "jit/jit_internal.h"
#include "jit/nvrtc_compiler.h"
#include "jit/trace.h"

namespace fa3jit::jit {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

using SharedCompile = std::shared_future<std::shared_ptr<const CompiledKernel>>;

struct CompiledTable {
  std::mutex mu;
  std::unordered_map<std::string, SharedCompile> map;
};

CompiledTable& compiled_table() {
  static CompiledTable t;
  return t;
}

}  // namespace

std::string spec_table_key(const KernelSpec& spec) {
  std::string k = spec.entry_file;
  k += '\0';
  k += spec.kernel_name;
  k += '\0';
  k += std::to_string(spec.arch);
  k += spec.arch_specific ? "a" : "";
  for (const std::string& o : spec.options) {
    k += '\0';
    k += o;
  }
  return k;
}

std::string KernelSpec::describe() const {
  std::string s = kernel_name + " from kernels/" + entry_file + " for sm_" + std::to_string(arch) +
                  (arch_specific ? "a" : "");
  if (!options.empty()) {
    s += " [";
    for (size_t i = 0; i < options.size(); ++i) s += (i ? " " : "") + options[i];
    s += "]";
  }
  return s;
}

std::string nvrtc_version() {
  int major = 0, minor = 0;
  if (nvrtcVersion(&major, &minor) != NVRTC_SUCCESS) return "unknown";
  return std::to_string(major) + "." + std::to_string(minor);
}

CacheKey cache_key(const KernelSpec& spec) { return cache_key(spec, cccl_version_digest_of_process()); }

CacheKey cache_key(const KernelSpec& spec, const Digest& cccl_version) {
  Sha256 h;
  h.field("fa3jit-kernel-cache-key/2");
  h.field(kVersion);
  h.field(nvrtc_version());
  h.update(cccl_version.data(), cccl_version.size());
  const Digest& sources = kernel_sources().digest;
  h.update(sources.data(), sources.size());
  h.field(spec.entry_file);
  h.field(spec.kernel_name);
  h.field(int64_t(spec.arch));
  h.field(int64_t(spec.arch_specific));
  const std::vector<std::string> options = nvrtc_options(spec);
  h.field(int64_t(options.size()));
  for (const std::string& o : options) h.field(o);
  CacheKey key;
  key.digest = h.finish();
  key.hex = to_hex(key.digest);
  return key;
}

std::shared_ptr<const CompiledKernel> compiled_kernel(const KernelSpec& spec, CompileStats* stats) {
  const Clock::time_point t0 = Clock::now();
  const std::string mkey = spec_table_key(spec);
  CompiledTable& table = compiled_table();
  std::promise<std::shared_ptr<const CompiledKernel>> promise;
  SharedCompile shared;
  bool owner = false;
  {
    std::lock_guard<std::mutex> lock(table.mu);
    auto it = table.map.find(mkey);
    if (it != table.map.end()) {
      shared = it->second;
    } else {
      shared = promise.get_future().share();
      table.map.emplace(mkey, shared);
      owner = true;
    }
  }
  if (!owner) {
    std::shared_ptr<const CompiledKernel> k = shared.get();  // waits for the owner's compile
    if (stats) *stats = CompileStats{false, true, seconds_since(t0)};
    return k;
  }
  try {
    check_spec(spec);
    const CacheKey key = cache_key(spec);
    bool from_disk = false;
    auto k = std::make_shared<const CompiledKernel>(load_or_compile(
        key,
        [&] {
          const Clock::time_point c0 = Clock::now();
          CompiledKernel c = compile_with_nvrtc(spec);
          trace("compile " + key.hex + " " + spec.describe() + " in " + std::to_string(seconds_since(c0)) + " s");
          return c;
        },
        &from_disk));
    promise.set_value(k);
    if (stats) *stats = CompileStats{from_disk, false, seconds_since(t0)};
    return k;
  } catch (...) {
    {
      // A failed compile is not remembered: the next request tries again.
      std::lock_guard<std::mutex> lock(table.mu);
      table.map.erase(mkey);
    }
    promise.set_exception(std::current_exception());
    throw;
  }
}

std::vector<char> get_cubin(const KernelSpec& spec, CompileStats* stats) {
  return compiled_kernel(spec, stats)->cubin;
}

void forget_compiled_kernels_for_testing() {
  std::lock_guard<std::mutex> lock(compiled_table().mu);
  compiled_table().map.clear();
}

}  // namespace fa3jit::jit
