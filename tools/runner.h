// Runs a testing::Problem on a device and path for `fa3jit check/bench`:
// testing::run_problem / time_problem_ms (tests/cpp/testing/run_problem.h)
// when they are built; until then a host-only stand-in that runs the CPU
// backend through the public API.
#pragma once
#include "fa3jit/args.h"
#include "fa3jit/device.h"
#include "testing/problem.h"

namespace fa3jit::tools {

// The Device that a DeviceInfo describes.
Device device_of(const DeviceInfo& info);
// The device check/bench use when --device is not given: the best
// supported CUDA GPU, else the CPU (MUSA devices can pass the gate, but
// fa3jit has no MUSA kernels yet).
Device default_device();

struct RunResult {
  testing::HostTensor out, lse;
};

RunResult run_case(const testing::Problem& problem, const Device& device, KernelPath path);
double time_case_ms(const testing::Problem& problem, const Device& device, KernelPath path, int warmup,
                    int iters);

// The path `path` resolves to for this problem on `device` ("sm80" for
// auto on a GPU); throws fa3jit::Error when the device cannot run it.
KernelPath resolved_path(const testing::Problem& problem, const Device& device, KernelPath path);

}  // namespace fa3jit::tools
