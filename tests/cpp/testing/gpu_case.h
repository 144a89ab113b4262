// What the varlen GPU tests (sm80, sm90 paths) share: finding the GPU a
// test needs, the case list (a named ProblemConfig + RunOptions, seeds
// counted up), compiling the cases' kernels in parallel up front, and
// running one case checked element by element against the float64
// reference. Free of gtest: the tests turn results into assertions.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "fa3jit/device.h"
#include "jit/jit.h"
#include "testing/problem.h"
#include "testing/run_problem.h"
#include "validate/plan.h"

namespace fa3jit::testing {

// The first CUDA GPU that runs fa3jit and whose arch (sm_XY as XY) lies in
// [min_arch, max_arch]; null when there is none.
const DeviceInfo* find_cuda_gpu(int min_arch, int max_arch = 1000);

// Why a GPU test skips: "no supported <what> CUDA GPU (driver: ...)".
std::string no_gpu_message(const std::string& what);

struct VarlenGpuCase {
  std::string name;
  ProblemConfig cfg;
  RunOptions opt;
};

// Builds a case list: each case gets the next seed, and pack_gqa is off
// unless the case asks for it (the tests pin it rather than the heuristic).
class VarlenCaseList {
 public:
  explicit VarlenCaseList(uint64_t seed_before_first) : seed_(seed_before_first) {}
  void add(std::string name, ProblemConfig cfg, RunOptions opt = {});
  std::vector<VarlenGpuCase> take() { return std::move(cases_); }

 private:
  uint64_t seed_;
  std::vector<VarlenGpuCase> cases_;
};

// The case's name and every setting that shapes the kernel, for failures.
std::string describe(const VarlenGpuCase& c);

// The case named `name`; null when the list has none.
const VarlenGpuCase* find_case(const std::vector<VarlenGpuCase>& cases, const std::string& name);

// The kernels of a path that a case's validated plan needs (empty: none).
using CaseSpecs = std::function<std::vector<jit::KernelSpec>(const VarlenGpuCase&, detail::Plan&)>;

// The distinct kernels the cases need (cases that do not validate are left
// to their own test), compiled in parallel: the compiles dominate the run
// time otherwise. Returns them.
std::vector<jit::KernelSpec> compile_case_kernels(const std::vector<VarlenGpuCase>& cases, const CaseSpecs& specs_of);

// Whether this process runs enough tests that compiling every case's kernel
// up front (in parallel) pays: the whole binary at once, not ctest's one
// test per process (there the case builds its own kernel, and building
// every case's problem to find the kernels would cost each process more
// than its test).
bool precompile_pays();

// Copies the run's out / LSE into the problem's own buffers (so that the
// check also sees padding rows past seqused_q still poisoned) and checks
// them against the float64 reference. Sizes that differ fail uncopied.
CheckResult check_run(Problem& problem, const RunOutput& run);

// Runs the case on `device` through `path` and checks it (check_run); also
// fails when bytes of a strided out between its rows were written.
CheckResult run_case(const VarlenGpuCase& c, const Device& device, KernelPath path);

// "<kernel> spills (<n> registers)" for each kernel that uses local memory.
std::vector<std::string> kernels_that_spill(const std::vector<jit::KernelSpec>& specs, int device_index);

}  // namespace fa3jit::testing
