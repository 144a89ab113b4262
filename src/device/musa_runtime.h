// The Moore Threads MUSA runtime, loaded with dlopen at run time: fa3jit
// never links it, so a machine without it simply has no MUSA devices.
// Only the capability queries the device gate needs are wrapped.
#pragma once
#include <string>
#include <vector>

namespace fa3jit::musa {

struct MusaDevice {
  int index = 0;
  std::string name;  // "MUSA device <i>" when the runtime does not say
  int major = 0, minor = 0;
  int sm_count = 0;
  int smem_per_block = 0;  // opt-in maximum, bytes; 0 if unknown
};

struct MusaRuntime {
  bool available = false;
  std::string reason;        // why not available ("libmusart.so not found")
  int runtime_version = 0;   // as the runtime encodes it (CUDA-like: 1000*major + 10*minor)
  std::vector<MusaDevice> devices;
};

// Loads the runtime and reads every device once; cached, thread-safe, and
// never throws (a failure leaves available = false and says why).
const MusaRuntime& runtime();

}  // namespace fa3jit::musa
