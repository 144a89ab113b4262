#include "runner.h"

#include <chrono>
#include <cstring>

#include "dispatch/path_choice.h"
#include "fa3jit/error.h"
#include "validate/plan.h"

#if __has_include("testing/run_problem.h")
#include "testing/run_problem.h"
#define FA3JIT_TOOLS_HAVE_RUN_PROBLEM 1
#endif

namespace fa3jit::tools {

#ifdef FA3JIT_TOOLS_HAVE_RUN_PROBLEM

RunResult run_case(const testing::Problem& problem, const Device& device, KernelPath path) {
  testing::RunOutput r = testing::run_problem(problem, device, path);
  return RunResult{std::move(r.out), std::move(r.lse)};
}

double time_case_ms(const testing::Problem& problem, const Device& device, KernelPath path, int warmup,
                    int iters) {
  return testing::time_problem_ms(problem, device, path, warmup, iters);
}

#else

namespace {

void require_cpu(const Device& device) {
  if (device.type != DeviceType::CPU) {
    throw Error(ErrorKind::NotSupported, "--device " + device_name(device) +
                                             ": this build has no GPU runner (tests/cpp/testing/run_problem.h)");
  }
}

testing::HostTensor copy_of(const Tensor& t) {
  std::vector<int64_t> shape(t.shape.begin(), t.shape.begin() + t.ndim);
  testing::HostTensor h(t.dtype, shape);
  std::memcpy(h.data(), t.data, h.nbytes());  // results are contiguous
  return h;
}

}  // namespace

RunResult run_case(const testing::Problem& problem, const Device& device, KernelPath path) {
  require_cpu(device);
  RunResult r{problem.out, problem.lse};  // poisoned copies: the problem stays untouched
  VarlenArgs a = problem.args();
  a.path = path;
  a.out = r.out.view();
  a.softmax_lse = r.lse.view();
  VarlenResult res = flash_attn_varlen(a);
  if (r.out.empty()) r.out = copy_of(res.out);
  if (r.lse.empty() && res.softmax_lse.defined()) r.lse = copy_of(res.softmax_lse);
  return r;
}

double time_case_ms(const testing::Problem& problem, const Device& device, KernelPath path, int warmup,
                    int iters) {
  require_cpu(device);
  testing::HostTensor out = problem.out, lse = problem.lse;
  VarlenArgs a = problem.args();
  a.path = path;
  a.out = out.view();
  a.softmax_lse = lse.view();
  for (int i = 0; i < warmup; ++i) flash_attn_varlen(a);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i) flash_attn_varlen(a);
  const auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::milli>(t1 - t0).count() / iters;
}

#endif

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

}  // namespace fa3jit::tools
