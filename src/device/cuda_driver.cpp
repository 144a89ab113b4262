#include "device/cuda_driver.h"

#include <dlfcn.h>

#include <mutex>
#include <vector>

#include "fa3jit/error.h"

namespace fa3jit::cuda {
namespace {

#define FA3JIT_STR2(x) #x
#define FA3JIT_STR(x) FA3JIT_STR2(x)

struct Loaded {
  Driver drv;
  bool ok = false;
  std::string reason;
};

Loaded load() {
  Loaded l;
  void* h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!h) h = dlopen("libcuda.so", RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    l.reason = "the CUDA driver (libcuda.so.1) is not installed";
    return l;
  }
  // cuda.h maps some names to versioned symbols (cuMemAlloc -> cuMemAlloc_v2);
  // FA3JIT_STR expands the macro first, so we look up the same symbol the
  // header's prototype names.
#define FA3JIT_LOAD_FN(name)                                                    \
  l.drv.name = reinterpret_cast<decltype(&::name)>(dlsym(h, FA3JIT_STR(name))); \
  if (!l.drv.name) {                                                            \
    l.reason = std::string("the CUDA driver lacks ") + FA3JIT_STR(name) +       \
               " (driver too old)";                                              \
    return l;                                                                   \
  }
  FA3JIT_CUDA_DRIVER_FUNCTIONS(FA3JIT_LOAD_FN)
#undef FA3JIT_LOAD_FN
  const CUresult r = l.drv.cuInit(0);
  if (r != CUDA_SUCCESS) {
    const char* s = nullptr;
    l.drv.cuGetErrorString(r, &s);
    l.reason = std::string("cuInit failed: ") + (s ? s : "unknown error");
    return l;
  }
  l.ok = true;
  return l;
}

const Loaded& loaded() {
  static const Loaded l = load();
  return l;
}

}  // namespace

const Driver* driver() { return loaded().ok ? &loaded().drv : nullptr; }

const std::string& driver_unavailable_reason() { return loaded().reason; }

const Driver& require_driver() {
  if (!driver()) throw Error(ErrorKind::Runtime, "CUDA is not available: " + loaded().reason);
  return *driver();
}

void check(CUresult r, const char* what) {
  if (r == CUDA_SUCCESS) return;
  const char* name = nullptr;
  const char* text = nullptr;
  if (const Driver* d = driver()) {
    d->cuGetErrorName(r, &name);
    d->cuGetErrorString(r, &text);
  }
  throw Error(ErrorKind::Runtime, std::string(what) + " failed: " + (name ? name : "CUDA error ") +
                                      (name ? "" : std::to_string(int(r))) + (text ? std::string(" (") + text + ")" : ""));
}

void set_device(int index) {
  const Driver& d = require_driver();
  static std::mutex mu;
  static std::vector<CUcontext> contexts;
  CUcontext ctx = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (int(contexts.size()) <= index) contexts.resize(index + 1, nullptr);
    if (!contexts[index]) {
      CUdevice dev;
      FA3JIT_CU(d.cuDeviceGet(&dev, index));
      FA3JIT_CU(d.cuDevicePrimaryCtxRetain(&contexts[index], dev));
    }
    ctx = contexts[index];
  }
  CUcontext cur = nullptr;
  FA3JIT_CU(d.cuCtxGetCurrent(&cur));
  if (cur != ctx) FA3JIT_CU(d.cuCtxSetCurrent(ctx));
}

}  // namespace fa3jit::cuda
