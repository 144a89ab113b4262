// DeviceInfo, the device list and the capability gate (include/fa3jit/device.h).
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <string>

#include "bindings.h"
#include "fa3jit/args.h"
#include "fa3jit/device.h"
#include "fa3jit/error.h"

namespace nb = nanobind;

namespace fa3jit::python {
namespace {

const char* backend_name(Backend b) {
  switch (b) {
    case Backend::CPU: return "cpu";
    case Backend::CUDA: return "cuda";
    case Backend::MUSA: return "musa";
  }
  return "?";
}

Backend backend_from_name(const std::string& s) {
  if (s == "cpu") return Backend::CPU;
  if (s == "cuda") return Backend::CUDA;
  if (s == "musa") return Backend::MUSA;
  throw Error(ErrorKind::InvalidValue, "backend must be 'cpu', 'cuda' or 'musa'; got '" + s + "'");
}

DeviceType device_type_of(Backend b) {
  switch (b) {
    case Backend::CPU: return DeviceType::CPU;
    case Backend::CUDA: return DeviceType::CUDA;
    case Backend::MUSA: return DeviceType::MUSA;
  }
  return DeviceType::CPU;
}

std::string repr(const DeviceInfo& d) {
  return std::string("DeviceInfo(backend='") + backend_name(d.backend) +
         "', index=" + std::to_string(d.index) + ", name='" + d.name +
         "', major=" + std::to_string(d.major) + ", minor=" + std::to_string(d.minor) +
         ", runtime_version=" + std::to_string(d.runtime_version) +
         ", sm_count=" + std::to_string(d.sm_count) +
         ", smem_per_block=" + std::to_string(d.smem_per_block) + ")";
}

}  // namespace

void bind_devices(nb::module_& m) {
  nb::class_<DeviceInfo>(m, "DeviceInfo",
                         "One device as fa3jit sees it. Construct one by hand to ask the "
                         "capability gate about a simulated device.")
      .def(
          "__init__",
          [](DeviceInfo* self, const std::string& backend, int index, const std::string& name,
             int major, int minor, int runtime_version, int sm_count, int smem_per_block) {
            new (self) DeviceInfo{backend_from_name(backend), index, name, major, minor,
                                  runtime_version, sm_count, smem_per_block};
          },
          nb::kw_only(), nb::arg("backend") = "cpu", nb::arg("index") = 0, nb::arg("name") = "",
          nb::arg("major") = 0, nb::arg("minor") = 0, nb::arg("runtime_version") = 0,
          nb::arg("sm_count") = 0, nb::arg("smem_per_block") = 0)
      .def_prop_ro("backend", [](const DeviceInfo& d) { return backend_name(d.backend); })
      .def_ro("index", &DeviceInfo::index)
      .def_ro("name", &DeviceInfo::name)
      .def_ro("major", &DeviceInfo::major)
      .def_ro("minor", &DeviceInfo::minor)
      .def_ro("runtime_version", &DeviceInfo::runtime_version, "1000*major + 10*minor")
      .def_ro("sm_count", &DeviceInfo::sm_count)
      .def_ro("smem_per_block", &DeviceInfo::smem_per_block)
      .def("__repr__", &repr);

  m.def("query_devices", &query_devices, nb::rv_policy::copy,
        "Every device present: the CPU first, then CUDA, then MUSA (cached).");
  m.def(
      "device_info",
      [](const std::string& backend, int index) -> DeviceInfo {
        return fa3jit::device_info(Device{device_type_of(backend_from_name(backend)), index});
      },
      nb::arg("backend"), nb::arg("index") = 0,
      "The info of one present device; ValueError when absent.");
  m.def("best_device", &best_device, nb::rv_policy::copy,
        "A supported GPU if any, else the CPU.");
  m.def("is_fa3_supported", nb::overload_cast<const DeviceInfo&>(&fa3jit::is_fa3_supported),
        nb::arg("device"));
  m.def("explain_support", nb::overload_cast<const DeviceInfo&>(&fa3jit::explain_support),
        nb::arg("device"));
  m.def("split_workspace_bytes_bound", &fa3jit::split_workspace_bytes_bound, nb::arg("device"), nb::arg("dv"),
        "The most split-KV workspace a call with num_splits = 0 needs on this device (see "
        "fa3jit.split_workspace_bytes_bound).");
}

}  // namespace fa3jit::python
