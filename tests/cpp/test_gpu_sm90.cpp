// The sm90 (Hopper) path on a GPU: random problems (testing::make_problem)
// run with path = Sm90 and checked element by element against the float64
// reference (poisoned outputs: unwritten rows and padding rows are caught).
// Every feature the path supports, tiles past the persistent grid, and the
// NotSupported cases. Skips without an sm_90 GPU.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dispatch/sm90_path.h"
#include "dispatch/sm90_specs.h"
#include "fa3jit/device.h"
#include "fa3jit/error.h"
#include "jit/jit.h"
#include "testing/gpu_case.h"
#include "testing/varlen_case_groups.h"

namespace fa3jit::testing {
namespace {

const DeviceInfo* sm90_gpu() { return find_cuda_gpu(90, 90); }

#define SKIP_WITHOUT_SM90() \
  if (!sm90_gpu()) GTEST_SKIP() << no_gpu_message("sm_90")

using Case = VarlenGpuCase;

std::vector<Case> all_cases() {
  VarlenCaseList cs(900);
  auto add = [&](std::string name, ProblemConfig cfg, RunOptions opt = {}) { cs.add(std::move(name), cfg, opt); };
  // dtypes x full-speed head dims x causal, lengths not multiples of the tile
  for (DType dt : {DType::bf16, DType::f16})
    for (int d : {64, 96, 128, 192, 256})
      for (bool causal : {false, true}) {
        ProblemConfig c;
        c.dtype = dt;
        c.d = c.dv = d;
        c.causal = causal;
        c.batch = 3;
        c.max_len = 300;
        add(std::string(dtype_name(dt)) + "_d" + std::to_string(d) + (causal ? "_causal" : ""), c);
      }
  // long sequences (many key blocks through the 2-stage ring) and more
  // tiles than CTAs (the persistent loop), causal and not
  for (bool causal : {false, true}) {
    ProblemConfig c;
    c.batch = 4;
    c.h = c.h_k = 16;
    c.seqlens_q = {1000, 777, 1, 1500};
    c.seqlens_k = {1000, 900, 1300, 1500};
    c.causal = causal;
    c.d = c.dv = 128;
    add(std::string("long_many_tiles") + (causal ? "_causal" : ""), c);
    c.d = c.dv = 256;
    c.h = c.h_k = 4;
    add(std::string("long_d256") + (causal ? "_causal" : ""), c);
  }
  // padded head dims (explicit path only; Auto takes sm80 for these)
  for (int d : {8, 40, 72, 112, 136, 200, 248}) {
    ProblemConfig c;
    c.d = c.dv = d;
    c.causal = d % 16 == 0;
    add("d" + std::to_string(d), c);
  }
  add_dv_differs_cases(cs);
  add_fixed_len_and_seqused_cases(cs);
  // GQA / MQA, with and without packing (3 q-heads per kv-head cannot pack: runs unpacked)
  for (int ratio : {1, 3, 4, 8, 32})
    for (bool pack : {false, true}) {
      if (ratio == 1 && pack) continue;
      ProblemConfig c;
      c.h_k = ratio == 32 ? 1 : 2;
      c.h = c.h_k * ratio;
      c.causal = true;
      c.max_len = 130;
      RunOptions o;
      o.pack_gqa = pack;
      add("gqa" + std::to_string(ratio) + (pack ? "_packed" : ""), c, o);
      c.seqlens_q = {1, 3, 0, 2};  // decode-like
      c.seqlens_k = {77, 200, 5, 1};
      c.batch = 4;
      add("gqa" + std::to_string(ratio) + (pack ? "_packed" : "") + "_decode", c, o);
    }
  add_mask_cases(cs, 400);
  add_softcap_and_sink_cases(cs, 300);
  add_zero_length_cases(cs);
  // paged KV (page size a multiple of the key block: 128 for d <= 128, else 64)
  {
    ProblemConfig c;
    c.page_size = 64;
    c.d = c.dv = 192;
    c.causal = true;
    c.max_len = 300;
    add("paged64_d192", c);
  }
  for (int ps : {128, 256}) {
    ProblemConfig c;
    c.page_size = ps;
    c.causal = true;
    c.h = 8;
    c.h_k = 2;
    c.max_len = 700;
    add("paged" + std::to_string(ps), c);
    c.seqlens_q = {1, 1, 2};
    c.seqlens_k = {257, 64, 700};
    c.batch = 3;
    RunOptions o;
    o.pack_gqa = true;
    add("paged" + std::to_string(ps) + "_decode_packed", c, o);
  }
  // strided out (row / head padding)
  {
    ProblemConfig c;
    c.causal = true;
    RunOptions o;
    o.out_head_pad = 8;
    o.out_row_pad = 24;
    add("out_strided", c, o);
  }
  return cs.take();
}

std::vector<jit::KernelSpec>& tested_specs() {
  static std::vector<jit::KernelSpec> specs;
  return specs;
}

// The kernels the cases need, compiled in parallel up front.
void precompile(const std::vector<Case>& cases) {
  tested_specs() = compile_case_kernels(cases, [](const Case& c, detail::Plan& plan) {
    plan.params.pack_gqa = c.opt.pack_gqa.value_or(false) && plan.params.h != plan.params.h_k;
    return std::vector<jit::KernelSpec>{detail::sm90_fwd_spec(detail::sm90_key_for(plan))};
  });
}

class Sm90Gpu : public ::testing::TestWithParam<Case> {
 protected:
  static void SetUpTestSuite() {
    if (sm90_gpu()) precompile(all_cases());
  }
};

TEST_P(Sm90Gpu, MatchesReference) {
  SKIP_WITHOUT_SM90();
  const Case& c = GetParam();
  const CheckResult res = run_case(c, Device{DeviceType::CUDA, sm90_gpu()->index}, KernelPath::Sm90);
  EXPECT_TRUE(res.ok) << describe(c) << "\n  " << res.message;
  RecordProperty("max_err", std::to_string(res.max_err));
}

INSTANTIATE_TEST_SUITE_P(All, Sm90Gpu, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<Case>& i) { return i.param.name; });

void expect_not_supported(const ProblemConfig& c, const std::string& names) {
  Problem p = make_problem(c);
  try {
    run_problem(p, Device{DeviceType::CUDA, sm90_gpu()->index}, KernelPath::Sm90);
    ADD_FAILURE() << "ran on the sm90 path; expected an error naming " << names;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotSupported) << e.what();
    EXPECT_NE(std::string(e.what()).find(names), std::string::npos) << e.what();
  }
}

TEST(Sm90GpuErrors, NotSupportedNamesTheArgument) {
  SKIP_WITHOUT_SM90();
  ProblemConfig c;
  c.num_splits = 2;
  expect_not_supported(c, "num_splits = 2");
  c = ProblemConfig{};
  c.page_size = 16;
  expect_not_supported(c, "page_size = 16");
  c = ProblemConfig{};
  c.dtype = DType::fp8_e4m3;
  c.descale = true;
  expect_not_supported(c, "q dtype");
}

// Auto runs what the sm90 path does not (splits, small pages) on sm80, with
// the same answers.
TEST(Sm90GpuAuto, FallsBackToSm80WhereSm90CannotRun) {
  SKIP_WITHOUT_SM90();
  ProblemConfig c;
  c.page_size = 16;
  c.causal = true;
  c.num_splits = 2;
  c.seqlens_q = {3, 1};
  c.seqlens_k = {300, 200};
  Problem p = make_problem(c);
  const CheckResult res = check_run(p, run_problem(p, Device{DeviceType::CUDA, sm90_gpu()->index}, KernelPath::Auto));
  EXPECT_TRUE(res.ok) << res.message;
}

// No kernel spills to local memory: the common ones and every tested one.
TEST(Sm90GpuKernels, NoLocalMemory) {
  SKIP_WITHOUT_SM90();
  std::vector<jit::KernelSpec> specs = detail::sm90_warmup_specs(90);
  if (tested_specs().empty()) precompile(all_cases());
  specs.insert(specs.end(), tested_specs().begin(), tested_specs().end());
  for (const std::string& spill : kernels_that_spill(specs, sm90_gpu()->index)) ADD_FAILURE() << spill;
}

}  // namespace
}  // namespace fa3jit::testing
