// Devices and the capability gate. DeviceInfo is read once per device and
// cached; is_fa3_supported / explain_support are pure functions of it.
#pragma once
#include <string>
#include <vector>

#include "fa3jit/tensor.h"

namespace fa3jit {

enum class Backend : int { CPU = 0, CUDA = 1, MUSA = 2 };

struct DeviceInfo {
  Backend backend = Backend::CPU;
  int index = 0;
  std::string name;
  int major = 0;  // compute capability (CUDA) / MUSA capability
  int minor = 0;
  // Runtime (driver) version as CUDA encodes it: 1000*major + 10*minor
  // (12.3 -> 12030). For MUSA the runtime's own number, same encoding.
  int runtime_version = 0;
  int sm_count = 0;
  int smem_per_block = 0;  // bytes, opt-in maximum
};

// Encodes "major.minor" as a number (12, 3 -> 12030), so 12.10 > 12.3.
constexpr int version_number(int major, int minor) { return major * 1000 + minor * 10; }
// The inverse, for messages: 12030 -> "12.3", 12100 -> "12.10".
std::string version_string(int version);

bool is_fa3_supported(const DeviceInfo& device);
std::string explain_support(const DeviceInfo& device);

// All devices present: the CPU first, then CUDA, then MUSA. Never throws
// when no GPU, driver or runtime is present. Cached after the first call.
const std::vector<DeviceInfo>& query_devices();
// The cached info of one device (throws fa3jit::Error if absent).
const DeviceInfo& device_info(const Device& device);
// The best device present: a supported GPU if any, else the CPU.
const DeviceInfo& best_device();

}  // namespace fa3jit
