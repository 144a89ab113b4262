// The CUDA driver API, loaded with dlopen at run time so that the library
// loads and works (CPU backend) on machines with no GPU or driver.
#pragma once
#include <cuda.h>

#include <string>

namespace fa3jit::cuda {

#define FA3JIT_CUDA_DRIVER_FUNCTIONS(X) \
  X(cuInit)                             \
  X(cuDriverGetVersion)                 \
  X(cuGetErrorString)                   \
  X(cuGetErrorName)                     \
  X(cuDeviceGetCount)                   \
  X(cuDeviceGet)                        \
  X(cuDeviceGetName)                    \
  X(cuDeviceGetAttribute)               \
  X(cuDevicePrimaryCtxRetain)           \
  X(cuCtxGetCurrent)                    \
  X(cuCtxSetCurrent)                    \
  X(cuCtxGetDevice)                     \
  X(cuCtxSynchronize)                   \
  X(cuPointerGetAttribute)              \
  X(cuMemAlloc)                         \
  X(cuMemFree)                          \
  X(cuMemAllocAsync)                    \
  X(cuMemFreeAsync)                     \
  X(cuMemcpyHtoD)                       \
  X(cuMemcpyDtoH)                       \
  X(cuMemcpyDtoHAsync)                  \
  X(cuMemcpyHtoDAsync)                  \
  X(cuMemsetD8Async)                    \
  X(cuStreamSynchronize)                \
  X(cuStreamIsCapturing)                \
  X(cuModuleLoadData)                   \
  X(cuModuleUnload)                     \
  X(cuModuleGetFunction)                \
  X(cuFuncSetAttribute)                 \
  X(cuFuncGetAttribute)                 \
  X(cuLaunchKernel)                     \
  X(cuLaunchKernelEx)                   \
  X(cuOccupancyMaxActiveBlocksPerMultiprocessor) \
  X(cuEventCreate)                      \
  X(cuEventRecord)                      \
  X(cuEventSynchronize)                 \
  X(cuEventElapsedTime)                 \
  X(cuEventDestroy)                      \
  X(cuTensorMapEncodeTiled)             \
  X(cuStreamCreate)                     \
  X(cuStreamDestroy)                    \
  X(cuStreamBeginCapture)               \
  X(cuStreamEndCapture)                 \
  X(cuGraphInstantiate)                 \
  X(cuGraphLaunch)                      \
  X(cuGraphExecDestroy)                 \
  X(cuGraphDestroy)                      \
  X(cuGraphGetNodes)                     \
  X(cuGraphNodeGetType)

struct Driver {
#define FA3JIT_DECLARE_FN(name) decltype(&::name) name = nullptr;
  FA3JIT_CUDA_DRIVER_FUNCTIONS(FA3JIT_DECLARE_FN)
#undef FA3JIT_DECLARE_FN
};

// The loaded driver, or nullptr when libcuda is absent or cuInit fails.
// Loaded and initialized once, thread-safe.
const Driver* driver();
// Why driver() is null ("libcuda.so.1 not found", "cuInit: no device").
const std::string& driver_unavailable_reason();
// The driver, or an fa3jit::Error (Runtime) saying why there is none.
const Driver& require_driver();

// Throws fa3jit::Error (Runtime) naming `what` and the driver's error text.
void check(CUresult r, const char* what);

// Makes device `index`'s primary context current on this thread.
void set_device(int index);

}  // namespace fa3jit::cuda

#define FA3JIT_CU(call) ::fa3jit::cuda::check((call), #call)
