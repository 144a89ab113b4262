#include "testing/gpu_case.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <future>
#include <set>
#include <sstream>

#include "fa3jit/error.h"

namespace fa3jit::testing {

const DeviceInfo* find_cuda_gpu(int min_arch, int max_arch) {
  for (const DeviceInfo& d : query_devices()) {
    const int arch = d.major * 10 + d.minor;
    if (d.backend == Backend::CUDA && arch >= min_arch && arch <= max_arch && is_fa3_supported(d)) return &d;
  }
  return nullptr;
}

std::string no_gpu_message(const std::string& what) {
  return "no supported " + what + " CUDA GPU (driver: " +
         (query_devices().size() > 1 ? "present" : "absent or no device") + ")";
}

void VarlenCaseList::add(std::string name, ProblemConfig cfg, RunOptions opt) {
  cfg.seed = ++seed_;
  if (!opt.pack_gqa) opt.pack_gqa = false;
  cases_.push_back({std::move(name), cfg, opt});
}

std::string describe(const VarlenGpuCase& c) {
  const ProblemConfig& g = c.cfg;
  std::ostringstream s;
  s << c.name << ": " << dtype_name(g.dtype) << " b" << g.batch << " h" << g.h << "/" << g.h_k << " d" << g.d
    << "/dv" << g.dv << (g.varlen ? " varlen" : " 4-D") << (g.causal ? " causal" : "") << " window("
    << g.window_left << "," << g.window_right << ") chunk " << g.attention_chunk << " softcap " << g.softcap
    << (g.sinks ? " sinks" : "") << " page " << g.page_size << " splits " << g.num_splits
    << " pack_gqa " << c.opt.pack_gqa.value_or(false) << " seed " << g.seed;
  return s.str();
}

const VarlenGpuCase* find_case(const std::vector<VarlenGpuCase>& cases, const std::string& name) {
  auto it = std::find_if(cases.begin(), cases.end(), [&](const VarlenGpuCase& c) { return c.name == name; });
  return it == cases.end() ? nullptr : &*it;
}

bool precompile_pays() { return ::testing::UnitTest::GetInstance()->test_to_run_count() > 8; }

std::vector<jit::KernelSpec> compile_case_kernels(const std::vector<VarlenGpuCase>& cases, const CaseSpecs& specs_of) {
  std::set<std::string> seen;
  std::vector<jit::KernelSpec> specs;
  for (const VarlenGpuCase& c : cases) {
    try {
      Problem p = make_problem(c.cfg);
      detail::Plan plan = detail::validate_varlen_args(p.args(), nullptr);
      for (const jit::KernelSpec& s : specs_of(c, plan))
        if (seen.insert(s.kernel_name).second) specs.push_back(s);
    } catch (const Error&) {
      // Cases that do not validate are reported by their own test.
    }
  }
  std::vector<std::future<void>> jobs;
  for (const jit::KernelSpec& s : specs) jobs.push_back(std::async(std::launch::async, [s] { jit::get_cubin(s); }));
  for (auto& j : jobs) j.get();
  return specs;
}

CheckResult check_run(Problem& problem, const RunOutput& run) {
  auto size_mismatch = [](const char* what, size_t got, size_t want) {
    CheckResult r;
    r.message = std::string(what) + " has " + std::to_string(got) + " bytes, expected " + std::to_string(want);
    return r;
  };
  if (run.out.nbytes() != problem.out.nbytes()) return size_mismatch("out", run.out.nbytes(), problem.out.nbytes());
  if (!problem.lse.empty() && run.lse.nbytes() != problem.lse.nbytes())
    return size_mismatch("lse", run.lse.nbytes(), problem.lse.nbytes());
  std::memcpy(problem.out.data(), run.out.data(), problem.out.nbytes());
  if (!problem.lse.empty()) std::memcpy(problem.lse.data(), run.lse.data(), problem.lse.nbytes());
  return check_against_reference(problem, problem.out.view(), problem.lse.view());
}

CheckResult run_case(const VarlenGpuCase& c, const Device& device, KernelPath path) {
  Problem p = make_problem(c.cfg);
  const RunOutput r = run_problem(p, device, path, c.opt);
  CheckResult res = check_run(p, r);
  if (!r.out_gaps_untouched) {
    res.ok = false;
    res.message = "bytes of out between the strided rows were written" + (res.message.empty() ? "" : "; " + res.message);
  }
  return res;
}

std::vector<std::string> kernels_that_spill(const std::vector<jit::KernelSpec>& specs, int device_index) {
  std::vector<std::string> out;
  for (const jit::KernelSpec& s : specs) {
    const jit::Kernel& k = jit::get_kernel(s, device_index);
    if (k.local_bytes != 0)
      out.push_back(s.kernel_name + " spills (" + std::to_string(k.num_regs) + " registers, " +
                    std::to_string(k.local_bytes) + " local bytes)");
  }
  return out;
}

}  // namespace fa3jit::testing
