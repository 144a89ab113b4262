// The capability gate: pure functions of DeviceInfo, so they are tested
// with simulated devices on any machine.
#include <string>
#include <vector>

#include "fa3jit/device.h"

namespace fa3jit {
namespace {

constexpr int kMinCudaRuntime = version_number(12, 3);
constexpr int kMinCudaMajor = 8;  // sm_80
constexpr int kMinMusaMajor = 3;  // MTT S5000 reports 3.1

std::string sm_name(const DeviceInfo& d) { return "sm_" + std::to_string(d.major * 10 + d.minor); }

// Why the device cannot run fa3jit; empty when it can.
std::vector<std::string> blockers(const DeviceInfo& d) {
  std::vector<std::string> why;
  switch (d.backend) {
    case Backend::CPU:
      break;
    case Backend::CUDA:
      if (d.major < kMinCudaMajor) why.push_back(sm_name(d) + " is below sm_80");
      if (d.runtime_version < kMinCudaRuntime)
        why.push_back("CUDA runtime " + version_string(d.runtime_version) + " is below " +
                      version_string(kMinCudaRuntime));
      break;
    case Backend::MUSA:
      if (d.major < kMinMusaMajor)
        why.push_back("MUSA capability " + std::to_string(d.major) + "." + std::to_string(d.minor) +
                      " is below 3.0");
      break;
  }
  return why;
}

std::string describe(const DeviceInfo& d) {
  switch (d.backend) {
    case Backend::CPU: return d.name + " (CPU, " + std::to_string(d.sm_count) + " threads)";
    case Backend::CUDA: return d.name + " (" + sm_name(d) + ")";
    case Backend::MUSA:
      return d.name + " (MUSA " + std::to_string(d.major) + "." + std::to_string(d.minor) + ")";
  }
  return d.name;
}

// Which implementation a supported device gets.
std::string path_of(const DeviceInfo& d) {
  switch (d.backend) {
    case Backend::CPU: return "CPU backend";
    case Backend::CUDA: return d.major == 9 && d.minor == 0 ? "Hopper fast path" : "portable path";
    case Backend::MUSA: return "MUSA path (no MUSA kernels in this build yet)";
  }
  return "";
}

}  // namespace

std::string version_string(int version) {
  return std::to_string(version / 1000) + "." + std::to_string((version % 1000) / 10);
}

bool is_fa3_supported(const DeviceInfo& device) { return blockers(device).empty(); }

std::string explain_support(const DeviceInfo& device) {
  const std::vector<std::string> why = blockers(device);
  if (why.empty()) return describe(device) + ": supported, " + path_of(device);
  std::string s = describe(device) + ": not supported: ";
  for (size_t i = 0; i < why.size(); ++i) s += (i ? "; " : "") + why[i];
  return s;
}

}  // namespace fa3jit
