// What `fa3jit check/bench` need to run a testing::Problem: the device to
// use, the path `auto` resolves to, and testing::run_problem /
// time_problem (tests/cpp/testing/run_problem.h) behind one name.
#pragma once
#include "fa3jit/args.h"
#include "fa3jit/device.h"
#include "testing/problem.h"
#include "testing/run_problem.h"

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
testing::Timing time_case(const testing::Problem& problem, const Device& device, KernelPath path, int warmup,
                          int iters);

// The path `path` resolves to for this problem on `device` ("sm80" for
// auto on a GPU); throws fa3jit::Error when the device cannot run it.
KernelPath resolved_path(const testing::Problem& problem, const Device& device, KernelPath path);

// Throws fa3jit::Error naming --path when the path cannot run on the
// device kind (sm80/sm90 need a CUDA device, cpu the CPU).
void check_path_fits_device(KernelPath path, const Device& device);

}  // namespace fa3jit::tools
