// The shared varlen GPU-test harness (testing/gpu_case.h) on the CPU
// backend, where it runs on this machine: a correct run passes, a wrong or
// wrongly sized output fails, padding rows written fail, the case list
// counts seeds and pins pack_gqa, and GPU lookup / skip text are sane.
#include <gtest/gtest.h>

#include <string>

#include "testing/gpu_case.h"

namespace fa3jit::testing {
namespace {

const Device kCpu{DeviceType::CPU, 0};

ProblemConfig small_config() {
  ProblemConfig c;
  c.batch = 2;
  c.seqlens_q = {5, 9};
  c.seqlens_k = {7, 12};
  c.causal = true;
  return c;
}

TEST(GpuCaseHarness, RunCasePassesACorrectRun) {
  VarlenCaseList list(10);
  list.add("small_causal", small_config());
  const std::vector<VarlenGpuCase> cases = list.take();
  const CheckResult res = run_case(cases.at(0), kCpu, KernelPath::Cpu);
  EXPECT_TRUE(res.ok) << res.message;
}

TEST(GpuCaseHarness, CheckRunFailsAWrongOutputElement) {
  Problem p = make_problem(small_config());
  RunOutput r = run_problem(p, kCpu, KernelPath::Cpu);
  r.out.set(0, r.out.get(0) + 100.f);
  EXPECT_FALSE(check_run(p, r).ok);
}

TEST(GpuCaseHarness, CheckRunFailsOutputsOfAnotherSize) {
  Problem p = make_problem(small_config());
  RunOutput r = run_problem(p, kCpu, KernelPath::Cpu);
  RunOutput short_out = r;
  short_out.out = HostTensor(r.out.dtype(), {1});
  const CheckResult out_res = check_run(p, short_out);
  EXPECT_FALSE(out_res.ok);
  EXPECT_NE(out_res.message.find("out has"), std::string::npos) << out_res.message;
  RunOutput short_lse = r;
  short_lse.lse = HostTensor(DType::f32, {1});
  const CheckResult lse_res = check_run(p, short_lse);
  EXPECT_FALSE(lse_res.ok);
  EXPECT_NE(lse_res.message.find("lse has"), std::string::npos) << lse_res.message;
}

TEST(GpuCaseHarness, CheckRunFailsWrittenPaddingRows) {
  ProblemConfig c = small_config();
  c.seqused_q = true;
  c.seqlens_q = {40, 50};  // seqused_q draws fewer real rows: the rest must stay poison
  Problem p = make_problem(c);
  RunOutput r = run_problem(p, kCpu, KernelPath::Cpu);
  ASSERT_TRUE(check_run(p, r).ok);
  // Out is (total_q, h, dv): zero the rows of each sequence past seqused_q.
  const int64_t row = int64_t(c.h) * c.dv;
  int64_t padding_rows = 0;
  for (int b = 0; b < c.batch; ++b) {
    const int32_t start = p.cu_seqlens_q.as<int32_t>()[b], end = p.cu_seqlens_q.as<int32_t>()[b + 1];
    for (int64_t t = start + p.seqused_q.as<int32_t>()[b]; t < end; ++t, ++padding_rows)
      for (int64_t i = 0; i < row; ++i) r.out.set(t * row + i, 0.f);
  }
  ASSERT_GT(padding_rows, 0) << "the seed drew no padding row";
  EXPECT_FALSE(check_run(p, r).ok);
}

TEST(GpuCaseHarness, CaseListCountsSeedsAndPinsPackGqa) {
  VarlenCaseList list(41);
  RunOptions packed;
  packed.pack_gqa = true;
  list.add("a", ProblemConfig{});
  list.add("b", ProblemConfig{}, packed);
  const std::vector<VarlenGpuCase> cases = list.take();
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_EQ(cases[0].cfg.seed, 42u);
  EXPECT_EQ(cases[1].cfg.seed, 43u);
  EXPECT_EQ(cases[0].opt.pack_gqa, false);
  EXPECT_EQ(cases[1].opt.pack_gqa, true);
  EXPECT_EQ(find_case(cases, "b"), &cases[1]);
  EXPECT_EQ(find_case(cases, "c"), nullptr);
  EXPECT_NE(describe(cases[1]).find("b: "), std::string::npos) << describe(cases[1]);
  EXPECT_NE(describe(cases[1]).find("seed 43"), std::string::npos) << describe(cases[1]);
}

TEST(GpuCaseHarness, GpuLookupFindsOnlyCudaDevicesInRange) {
  // No arch lies in an empty range; a device found is a CUDA one in range.
  EXPECT_EQ(find_cuda_gpu(91, 90), nullptr);
  if (const DeviceInfo* d = find_cuda_gpu(80)) {
    EXPECT_EQ(d->backend, Backend::CUDA);
    EXPECT_GE(d->major * 10 + d->minor, 80);
  }
  EXPECT_NE(no_gpu_message("sm_90").find("no supported sm_90 CUDA GPU"), std::string::npos);
}

}  // namespace
}  // namespace fa3jit::testing
