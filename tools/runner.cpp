#include "runner.h"

#include "dispatch/path_choice.h"
#include "fa3jit/error.h"
#include "testing/run_problem.h"
#include "validate/plan.h"

namespace fa3jit::tools {

RunResult run_case(const testing::Problem& problem, const Device& device, KernelPath path) {
  testing::RunOutput r = testing::run_problem(problem, device, path);
  return RunResult{std::move(r.out), std::move(r.lse)};
}

testing::Timing time_case(const testing::Problem& problem, const Device& device, KernelPath path, int warmup,
                          int iters) {
  return testing::time_problem(problem, device, path, warmup, iters);
}

Device device_of(const DeviceInfo& info) {
  switch (info.backend) {
    case Backend::CPU: return Device{DeviceType::CPU, 0};
    case Backend::CUDA: return Device{DeviceType::CUDA, info.index};
    case Backend::MUSA: return Device{DeviceType::MUSA, info.index};
  }
  return Device{};
}

Device default_device() {
  const DeviceInfo& best = best_device();
  return best.backend == Backend::CUDA ? device_of(best) : Device{DeviceType::CPU, 0};
}

KernelPath resolved_path(const testing::Problem& problem, const Device& device, KernelPath path) {
  // Validation reads the host metadata; the choice then depends only on
  // the device and the plan's shape, so the plan is moved to `device`.
  VarlenArgs a = problem.args();
  a.path = path;
  detail::Plan plan = detail::validate_varlen_args(a, nullptr);
  plan.device = device;
  plan.path = path;
  return detail::choose_path(plan).path;
}

void check_path_fits_device(KernelPath path, const Device& device) {
  const bool gpu_path = path == KernelPath::Sm80 || path == KernelPath::Sm90;
  if (gpu_path && device.type != DeviceType::CUDA) {
    throw Error(ErrorKind::InvalidValue, std::string("--path ") + (path == KernelPath::Sm80 ? "sm80" : "sm90") +
                                             " needs a CUDA device (--device cuda[:N]), got --device " +
                                             device_name(device));
  }
  if (path == KernelPath::Cpu && device.type != DeviceType::CPU) {
    throw Error(ErrorKind::InvalidValue, "--path cpu needs --device cpu, got --device " + device_name(device));
  }
}

}  // namespace fa3jit::tools
