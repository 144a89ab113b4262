#include "device/musa_runtime.h"

#include <dlfcn.h>

#include <cstring>
#include <memory>

namespace fa3jit::musa {
namespace {

// The MUSA runtime mirrors the CUDA runtime API (musaX == cudaX, same
// signatures, musaSuccess == 0, same device-attribute numbers). We rely on
// that for the few entry points below; each is looked up by name, and a
// missing one degrades the information, never the process.
using GetCountFn = int (*)(int*);
using GetAttributeFn = int (*)(int*, int, int);
using GetVersionFn = int (*)(int*);
using GetPropertiesFn = int (*)(void*, int);

constexpr int kAttrMultiProcessorCount = 16;            // cudaDevAttrMultiProcessorCount
constexpr int kAttrComputeCapabilityMajor = 75;         // cudaDevAttrComputeCapabilityMajor
constexpr int kAttrComputeCapabilityMinor = 76;         // cudaDevAttrComputeCapabilityMinor
constexpr int kAttrMaxSharedMemoryPerBlockOptin = 97;   // cudaDevAttrMaxSharedMemoryPerBlockOptin

void* open_runtime() {
  for (const char* name : {"libmusart.so", "libmusart.so.1", "libmusart.so.2", "libmusart.so.3",
                           "/usr/local/musa/lib/libmusart.so"}) {
    if (void* h = dlopen(name, RTLD_NOW | RTLD_LOCAL)) return h;
  }
  return nullptr;
}

template <class Fn>
Fn symbol(void* h, const char* name) {
  return reinterpret_cast<Fn>(dlsym(h, name));
}

// The device name: like cudaDeviceProp, musaDeviceProp starts with
// `char name[256]`. The struct's full size differs between versions, so
// the runtime writes into a buffer far larger than any version of it.
std::string device_name(GetPropertiesFn get_properties, int index) {
  if (!get_properties) return "";
  constexpr size_t kBufferBytes = 64 * 1024;
  std::unique_ptr<char[]> buffer(new char[kBufferBytes]());
  if (get_properties(buffer.get(), index) != 0) return "";
  return std::string(buffer.get(), strnlen(buffer.get(), 256));
}

MusaRuntime load() {
  MusaRuntime rt;
  void* h = open_runtime();
  if (!h) {
    rt.reason = "the MUSA runtime (libmusart.so) is not installed";
    return rt;
  }
  auto get_count = symbol<GetCountFn>(h, "musaGetDeviceCount");
  auto get_attribute = symbol<GetAttributeFn>(h, "musaDeviceGetAttribute");
  auto get_version = symbol<GetVersionFn>(h, "musaRuntimeGetVersion");
  auto get_properties = symbol<GetPropertiesFn>(h, "musaGetDeviceProperties");
  if (!get_properties) get_properties = symbol<GetPropertiesFn>(h, "musaGetDeviceProperties_v2");
  if (!get_count || !get_attribute) {
    rt.reason = "the MUSA runtime lacks musaGetDeviceCount or musaDeviceGetAttribute";
    return rt;
  }
  int count = 0;
  if (get_count(&count) != 0 || count <= 0) {
    rt.reason = "the MUSA runtime reports no device";
    return rt;
  }
  if (get_version) get_version(&rt.runtime_version);
  for (int i = 0; i < count; ++i) {
    MusaDevice d;
    d.index = i;
    d.name = device_name(get_properties, i);
    if (d.name.empty()) d.name = "MUSA device " + std::to_string(i);
    // A failed query leaves 0, which the gate reads as "not supported".
    if (get_attribute(&d.major, kAttrComputeCapabilityMajor, i) != 0) d.major = 0;
    if (get_attribute(&d.minor, kAttrComputeCapabilityMinor, i) != 0) d.minor = 0;
    if (get_attribute(&d.sm_count, kAttrMultiProcessorCount, i) != 0) d.sm_count = 0;
    if (get_attribute(&d.smem_per_block, kAttrMaxSharedMemoryPerBlockOptin, i) != 0) d.smem_per_block = 0;
    rt.devices.push_back(d);
  }
  rt.available = true;
  return rt;  // the library handle stays open for the life of the process
}

}  // namespace

const MusaRuntime& runtime() {
  static const MusaRuntime rt = load();
  return rt;
}

}  // namespace fa3jit::musa
