// fa3jit info: what this machine offers fa3jit.
#include <cstdio>
#include <string>

#include "commands.h"
#include "device/cuda_driver.h"
#include "device/musa_runtime.h"
#include "fa3jit/device.h"
#include "fa3jit/error.h"
#include "fa3jit/version.h"
#include "jit/jit.h"
#include "options.h"
#include "runner.h"

namespace fa3jit::tools {
namespace {

std::string details(const DeviceInfo& d) {
  if (d.backend == Backend::CPU) return "";
  const char* runtime = d.backend == Backend::CUDA ? "driver" : "runtime";
  return "    [" + std::string(runtime) + " " + version_string(d.runtime_version) + ", " +
         std::to_string(d.sm_count) + " SMs, " + std::to_string(d.smem_per_block / 1024) +
         " KiB shared memory per block]";
}

std::string human_bytes(uint64_t bytes) {
  char buf[64];
  if (bytes >= (uint64_t(1) << 30)) std::snprintf(buf, sizeof buf, "%.1f GiB", double(bytes) / (1 << 30));
  else if (bytes >= (uint64_t(1) << 20)) std::snprintf(buf, sizeof buf, "%.1f MiB", double(bytes) / (1 << 20));
  else if (bytes >= 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", double(bytes) / 1024);
  else std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
  return buf;
}

void print_jit() {
  // The JIT needs no GPU; a failure to read the cache is reported, not fatal.
  try {
    const std::string dir = jit::cache_dir();
    if (dir.empty()) {
      std::printf("JIT cache:    none (no FA3JIT_CACHE_DIR, XDG_CACHE_HOME or home directory): "
                  "kernels are compiled in memory for each process\n");
    } else {
      const jit::CacheUsage usage = jit::cache_usage();
      std::printf("JIT cache:    %s (%llu entries, %s)\n", dir.c_str(),
                  static_cast<unsigned long long>(usage.entries), human_bytes(usage.bytes).c_str());
    }
  } catch (const Error& e) {
    std::printf("JIT cache:    unavailable: %s\n", e.what());
  }
  try {
    std::printf("NVRTC:        %s\n", jit::nvrtc_version().c_str());
  } catch (const Error& e) {
    std::printf("NVRTC:        unavailable: %s\n", e.what());
  }
}

}  // namespace

int cmd_info(int argc, char** argv) {
  Options opts("info", {}, argc, argv);
  if (opts.help_requested()) {
    std::fputs(opts.usage("Lists the devices, whether each is supported and why, the device that\n"
                          "`auto` picks for fa3jit check/bench, the JIT cache and the NVRTC version.")
                   .c_str(),
               stdout);
    return 0;
  }
  std::printf("fa3jit %s\n\ndevices:\n", kVersion);
  bool any_cuda = false, any_musa = false;
  for (const DeviceInfo& d : query_devices()) {
    any_cuda |= d.backend == Backend::CUDA;
    any_musa |= d.backend == Backend::MUSA;
    std::printf("  %-8s %s\n%s", device_name(device_of(d)).c_str(), explain_support(d).c_str(),
                d.backend == Backend::CPU ? "" : (details(d) + "\n").c_str());
  }
  if (!any_cuda) {
    std::printf("  (no CUDA device: %s)\n",
                cuda::driver() ? "the driver reports none" : cuda::driver_unavailable_reason().c_str());
  }
  if (!any_musa) std::printf("  (no MUSA device: %s)\n", musa::runtime().reason.c_str());

  const Device chosen = default_device();
  if (chosen.type == DeviceType::CPU && best_device().backend == Backend::MUSA) {
    std::printf("\nauto:         %s is supported but this build has no MUSA kernels yet, so the CPU backend is used\n",
                device_name(device_of(best_device())).c_str());
  } else if (chosen.type == DeviceType::CPU) {
    std::printf("\nauto:         no supported GPU is present, so the CPU backend is used\n");
  } else {
    std::printf("\nauto:         %s (%s)\n", device_name(chosen).c_str(), explain_support(device_info(chosen)).c_str());
  }
  print_jit();
  return 0;
}

}  // namespace fa3jit::tools
