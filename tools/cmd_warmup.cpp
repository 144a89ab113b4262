// fa3jit warmup: precompiles kernel specializations into the JIT's disk
// cache (deployment: compile once per machine/image, not on the first
// request), printing how long each took and whether it was already cached.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"
#include "device/cuda_driver.h"
#include "dispatch/sm80_specs.h"
#include "dispatch/sm90_specs.h"
#include "kvcache/append_step.h"
#include "fa3jit/error.h"
#include "jit/jit.h"
#include "jit/warmup.h"
#include "options.h"

namespace {

using fa3jit::Error;
using fa3jit::ErrorKind;
namespace jit = fa3jit::jit;

// Device 0's arch, or 90 (the fast path) when there is no GPU here.
int default_arch() {
  const fa3jit::cuda::Driver* d = fa3jit::cuda::driver();
  int n = 0;
  CUdevice dev;
  int major = 0, minor = 0;
  if (!d || d->cuDeviceGetCount(&n) != CUDA_SUCCESS || n == 0 || d->cuDeviceGet(&dev, 0) != CUDA_SUCCESS ||
      d->cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev) != CUDA_SUCCESS ||
      d->cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev) != CUDA_SUCCESS)
    return 90;
  return major * 10 + minor;
}

std::vector<fa3jit::DType> parse_dtypes(const std::string& text) {
  std::vector<fa3jit::DType> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(fa3jit::tools::parse_dtype("--dtype", item));
  if (out.empty()) throw Error(ErrorKind::InvalidValue, "--dtype must list at least one dtype");
  return out;
}

// The sm80 family (runs on every sm_80+ GPU): its full common list with
// --all-common, else the forward kernels of the requested shapes
// (default d = 128, bf16 and fp16, causal and not).
std::vector<jit::KernelSpec> sm80_family(const jit::WarmupFilter& f) {
  namespace d = fa3jit::detail;
  if (f.arch < 80) return {};
  if (f.all_common) return d::sm80_warmup_specs(f.arch);
  std::vector<jit::KernelSpec> specs;
  const std::vector<int> dims = f.head_dims.empty() ? std::vector<int>{128} : f.head_dims;
  const std::vector<fa3jit::DType> dtypes =
      f.dtypes.empty() ? std::vector<fa3jit::DType>{fa3jit::DType::bf16, fa3jit::DType::f16} : f.dtypes;
  // Sm80KernelKey::mask: 0 = kMaskNone, 1 = kMaskCausal (kernels/sm80/tile_config.cuh).
  const std::vector<int> masks = f.causal < 0 ? std::vector<int>{0, 1} : std::vector<int>{f.causal};
  for (fa3jit::DType dt : dtypes)
    for (int dim : dims)
      for (int mask : masks) {
        d::Sm80KernelKey key;
        key.arch = f.arch;
        key.dtype = dt;
        key.d = key.dv = d::sm80_padded_dim(dim);
        key.mask = mask;
        key.tile = d::sm80_choose_tile(key.d, key.dv, false, d::sm80_default_smem(f.arch), f.arch);
        if (key.tile.block_m > 0) specs.push_back(d::sm80_fwd_spec(key));
      }
  return specs;
}

struct Outcome {
  bool ok = false;
  jit::CompileStats stats;
  std::string error;
};

}  // namespace

int cmd_warmup(int argc, char** argv) {
  using fa3jit::tools::Options;
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  Options opts("warmup",
               {{"arch", "SM", "target arch: 80, 86, 89, 90 (default: GPU 0's, else 90)"},
                {"all-common", "", "every common specialization of each kernel family (no shape options)"},
                {"d", "LIST", "head dims, e.g. 64,128 (default: 128)"},
                {"dtype", "LIST", "input dtypes, e.g. bf16,fp16 (default: bf16,fp16)"},
                {"causal", "", "causal specializations only"},
                {"non-causal", "", "non-causal specializations only"},
                {"jobs", "N", "compiles run in parallel (default: " + std::to_string(std::min(hw, 8u)) + ")"},
                {"list", "", "print the specializations, compile nothing"}},
               argc, argv);
  if (opts.help_requested()) {
    std::fputs(opts.usage("Precompiles kernel specializations into the JIT disk cache ($FA3JIT_CACHE_DIR,\n"
                          "else $XDG_CACHE_HOME/fa3jit, else ~/.cache/fa3jit) and prints how long each\n"
                          "took: a cold NVRTC compile, or a load of an entry that was already cached.")
                   .c_str(),
               stdout);
    return 0;
  }
  jit::WarmupFilter filter;
  filter.arch = opts.get_int("arch", default_arch(), 50);
  filter.all_common = opts.has("all-common");
  filter.head_dims = opts.get_ints("d", {}, 8);
  if (opts.has("dtype")) filter.dtypes = parse_dtypes(opts.get("dtype", ""));
  if (opts.has("causal") && opts.has("non-causal"))
    throw Error(ErrorKind::InvalidValue, "--causal and --non-causal exclude each other (give neither for both)");
  filter.causal = opts.has("causal") ? 1 : opts.has("non-causal") ? 0 : -1;
  if (filter.all_common && (opts.has("d") || opts.has("dtype") || filter.causal >= 0))
    throw Error(ErrorKind::InvalidValue,
                "--all-common takes no shape options (--d, --dtype, --causal, --non-causal): it warms every "
                "common specialization; give the shapes alone to warm just those");
  const int jobs = opts.get_int("jobs", int(std::min(hw, 8u)), 1);

  jit::add_warmup_source("sm80", &sm80_family);
  jit::add_warmup_source("sm90", &fa3jit::detail::sm90_warmup_family);
  jit::add_warmup_source("kvcache", &fa3jit::detail::kvcache_warmup_family);
  const std::vector<jit::WarmupItem> items = jit::warmup_specs(filter);
  if (opts.has("list")) {
    for (const jit::WarmupItem& it : items) std::printf("%-9s %s\n", it.family.c_str(), it.spec.describe().c_str());
    std::printf("%zu specializations for sm_%d\n", items.size(), filter.arch);
    return 0;
  }
  std::printf("warming %zu kernel specializations for sm_%d into %s (NVRTC %s, jobs %d)\n", items.size(),
              filter.arch, jit::cache_dir().c_str(), jit::nvrtc_version().c_str(), jobs);

  std::vector<Outcome> outcomes(items.size());
  std::atomic<size_t> next{0};
  std::atomic<int> done{0};
  std::mutex print_mu;
  auto worker = [&] {
    for (size_t i; (i = next++) < items.size();) {
      Outcome& o = outcomes[i];
      try {
        jit::get_cubin(items[i].spec, &o.stats);
        o.ok = true;
      } catch (const std::exception& e) {
        o.error = e.what();
      }
      std::lock_guard<std::mutex> lock(print_mu);
      const char* how = !o.ok                    ? "FAILED"
                        : o.stats.from_disk_cache ? "cached"
                        : o.stats.from_memory     ? "shared"
                                                  : "compiled";
      std::printf("[%3d/%zu] %-8s %8.3f s  %-9s %s\n", ++done, items.size(), how, o.stats.seconds,
                  items[i].family.c_str(), items[i].spec.describe().c_str());
      if (!o.ok) std::printf("%s\n", o.error.c_str());
      std::fflush(stdout);
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < std::min<int>(jobs, int(items.size())); ++t) threads.emplace_back(worker);
  for (std::thread& t : threads) t.join();

  int compiled = 0, cached = 0, failed = 0;
  double compile_s = 0, cached_s = 0;
  for (const Outcome& o : outcomes) {
    if (!o.ok) {
      ++failed;
    } else if (o.stats.from_disk_cache || o.stats.from_memory) {
      ++cached;
      cached_s += o.stats.seconds;
    } else {
      ++compiled;
      compile_s += o.stats.seconds;
    }
  }
  std::printf("done: %d compiled (%.2f s of compile time), %d already cached (%.3f s), %d failed\n", compiled,
              compile_s, cached, cached_s, failed);
  return failed ? 1 : 0;
}
