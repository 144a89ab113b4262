// query_devices / device_info / best_device: every device present, read
// once. Absent drivers or runtimes mean "no such devices", never an error.
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "device/cuda_driver.h"
#include "device/musa_runtime.h"
#include "fa3jit/device.h"
#include "fa3jit/error.h"

namespace fa3jit {
namespace {

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  const size_t e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// "model name : Intel(R) Xeon(R) ..." on x86; ARM kernels may not have it.
std::string cpu_model_name() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        const std::string name = trim(line.substr(colon + 1));
        if (!name.empty()) return name;
      }
    }
  }
  return "CPU";
}

DeviceInfo cpu_device() {
  DeviceInfo d;
  d.backend = Backend::CPU;
  d.index = 0;
  d.name = cpu_model_name();
  const unsigned threads = std::thread::hardware_concurrency();
  d.sm_count = threads > 0 ? int(threads) : 1;
  return d;
}

// Every CUDA device the driver reports; a device whose queries fail is
// left out rather than reported with wrong numbers.
void append_cuda_devices(std::vector<DeviceInfo>& out) {
  const cuda::Driver* drv = cuda::driver();
  if (!drv) return;
  int count = 0;
  if (drv->cuDeviceGetCount(&count) != CUDA_SUCCESS || count <= 0) return;
  int driver_version = 0;
  if (drv->cuDriverGetVersion(&driver_version) != CUDA_SUCCESS) driver_version = 0;
  for (int i = 0; i < count; ++i) {
    CUdevice dev;
    if (drv->cuDeviceGet(&dev, i) != CUDA_SUCCESS) continue;
    DeviceInfo d;
    d.backend = Backend::CUDA;
    d.index = i;
    d.runtime_version = driver_version;
    char name[256] = {};
    if (drv->cuDeviceGetName(name, sizeof(name) - 1, dev) == CUDA_SUCCESS) d.name = name;
    if (d.name.empty()) d.name = "CUDA device " + std::to_string(i);
    const bool ok =
        drv->cuDeviceGetAttribute(&d.major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev) == CUDA_SUCCESS &&
        drv->cuDeviceGetAttribute(&d.minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev) == CUDA_SUCCESS &&
        drv->cuDeviceGetAttribute(&d.sm_count, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev) == CUDA_SUCCESS &&
        drv->cuDeviceGetAttribute(&d.smem_per_block, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
                                  dev) == CUDA_SUCCESS;
    if (ok) out.push_back(d);
  }
}

void append_musa_devices(std::vector<DeviceInfo>& out) {
  const musa::MusaRuntime& rt = musa::runtime();
  if (!rt.available) return;
  for (const musa::MusaDevice& m : rt.devices) {
    DeviceInfo d;
    d.backend = Backend::MUSA;
    d.index = m.index;
    d.name = m.name;
    d.major = m.major;
    d.minor = m.minor;
    d.runtime_version = rt.runtime_version;
    d.sm_count = m.sm_count;
    d.smem_per_block = m.smem_per_block;
    out.push_back(d);
  }
}

std::vector<DeviceInfo> read_devices() {
  std::vector<DeviceInfo> devices{cpu_device()};
  append_cuda_devices(devices);
  append_musa_devices(devices);
  return devices;
}

Backend backend_of(DeviceType t) {
  switch (t) {
    case DeviceType::CPU: return Backend::CPU;
    case DeviceType::CUDA: return Backend::CUDA;
    case DeviceType::MUSA: return Backend::MUSA;
  }
  return Backend::CPU;
}

}  // namespace

const std::vector<DeviceInfo>& query_devices() {
  static const std::vector<DeviceInfo> devices = read_devices();  // thread-safe init
  return devices;
}

const DeviceInfo& device_info(const Device& device) {
  const Backend want = backend_of(device.type);
  int present = 0;
  for (const DeviceInfo& d : query_devices()) {
    if (d.backend != want) continue;
    ++present;
    if (d.index == device.index) return d;
  }
  std::string why;
  if (device.type == DeviceType::CUDA && !cuda::driver()) {
    why = cuda::driver_unavailable_reason();
  } else if (device.type == DeviceType::MUSA && !musa::runtime().available) {
    why = musa::runtime().reason;
  } else {
    why = std::to_string(present) + " such device(s) present";
  }
  throw Error(ErrorKind::InvalidValue,
              "device " + device_name(device) + " is not present: " + why);
}

const DeviceInfo& best_device() {
  // CUDA before MUSA (fa3jit's GPU kernels are CUDA kernels); the CPU is first in the list.
  for (Backend b : {Backend::CUDA, Backend::MUSA}) {
    for (const DeviceInfo& d : query_devices()) {
      if (d.backend == b && is_fa3_supported(d)) return d;
    }
  }
  return query_devices().front();
}

}  // namespace fa3jit
