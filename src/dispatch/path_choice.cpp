#include "dispatch/path_choice.h"

#include <algorithm>

#include "cpu/cpu_backend.h"
#include "fa3jit/error.h"
#include "dispatch/sm80_path.h"
#include "dispatch/sm80_specs.h"
#include "dispatch/sm90_path.h"

namespace fa3jit::detail {
namespace {

const char* path_name(KernelPath p) {
  switch (p) {
    case KernelPath::Auto: return "auto";
    case KernelPath::Cpu: return "cpu";
    case KernelPath::Sm80: return "sm80";
    case KernelPath::Sm90: return "sm90";
  }
  return "?";
}

}  // namespace

PathChoice choose_path(const Plan& plan) {
  PathChoice c;
  c.device = &device_info(plan.device);
  if (plan.device.type == DeviceType::CPU) {
    if (plan.path != KernelPath::Auto && plan.path != KernelPath::Cpu)
      throw Error(ErrorKind::InvalidValue, std::string("path = ") + path_name(plan.path) +
                                               " needs CUDA tensors, but q is on the CPU");
    c.path = KernelPath::Cpu;
    c.workers = cpu::num_threads();
    return c;
  }
  if (plan.device.type != DeviceType::CUDA)
    throw Error(ErrorKind::NotSupported,
                "q is on " + device_name(plan.device) + ": kernels for this device are not supported yet");
  if (!is_fa3_supported(*c.device))
    throw Error(ErrorKind::NotSupported, "q is on " + device_name(plan.device) + ": " + explain_support(*c.device));
  if (plan.path == KernelPath::Cpu)
    throw Error(ErrorKind::InvalidValue, "path = cpu needs CPU tensors, but q is on " + device_name(plan.device));
  c.workers = std::max(1, c.device->sm_count - plan.sm_margin);
  // The Hopper path when asked for (it says what it cannot do), or for
  // Auto on sm_90 when it runs the plan at full speed; else the portable one.
  if (plan.path == KernelPath::Sm90 || (plan.path == KernelPath::Auto && sm90_preferred(plan, *c.device))) {
    check_sm90_supports(plan, *c.device);
    c.path = KernelPath::Sm90;
    c.tile_m = sm90_plan_tile_m(plan);
    c.tile_n = sm90_plan_block_n(plan);
    return c;
  }
  c.path = KernelPath::Sm80;
  check_sm80_supports(plan, *c.device);
  // The split / pack heuristics reason in the kernel's real tile shape.
  const Sm80Tile tile = sm80_key_for(plan, *c.device).tile;
  c.tile_m = tile.block_m;
  c.tile_n = tile.block_n;
  return c;
}

void run_path(const Plan& plan, const PathChoice& choice, void* stream) {
  switch (choice.path) {
    case KernelPath::Cpu:
      cpu::run_attention(plan);
      return;
    case KernelPath::Sm80:
      run_sm80(plan, *choice.device, static_cast<CUstream>(stream));
      return;
    case KernelPath::Sm90:
      run_sm90(plan, *choice.device, static_cast<CUstream>(stream));
      return;
    default:
      break;
  }
  throw Error(ErrorKind::NotSupported, std::string("path = ") + path_name(choice.path) + " is not supported yet");
}

}  // namespace fa3jit::detail
