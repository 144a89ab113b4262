// The sm80 path on a GPU: random problems (testing::make_problem) run with
// path = Sm80 and checked element by element against the float64 reference
// (poisoned outputs: unwritten rows and padding rows are caught). Every
// feature and their combinations. Skips when no sm_80+ CUDA GPU is present.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "dispatch/sm80_specs.h"
#include "fa3jit/device.h"
#include "fa3jit/error.h"
#include "jit/jit.h"
#include "testing/gpu_case.h"
#include "testing/varlen_case_groups.h"

namespace fa3jit::testing {
namespace {

const DeviceInfo* sm80_gpu() { return find_cuda_gpu(80); }

#define SKIP_WITHOUT_GPU() \
  if (!sm80_gpu()) GTEST_SKIP() << no_gpu_message("sm_80+")

using Case = VarlenGpuCase;

std::vector<Case> all_cases() {
  VarlenCaseList cs(100);
  auto add = [&](std::string name, ProblemConfig cfg, RunOptions opt = {}) { cs.add(std::move(name), cfg, opt); };
  // dtypes x head dims x causal, lengths not multiples of the tile
  for (DType dt : {DType::bf16, DType::f16})
    for (int d : {64, 128, 256})
      for (bool causal : {false, true}) {
        ProblemConfig c;
        c.dtype = dt;
        c.d = c.dv = d;
        c.causal = causal;
        c.batch = 3;
        c.max_len = 300;
        add(std::string(dtype_name(dt)) + "_d" + std::to_string(d) + (causal ? "_causal" : ""), c);
      }
  // head-dim sweep (every padded instance)
  for (int d : {8, 16, 24, 40, 48, 72, 80, 96, 112, 136, 160, 192, 200, 224, 248}) {
    ProblemConfig c;
    c.d = c.dv = d;
    c.causal = d % 16 == 0;
    add("d" + std::to_string(d), c);
  }
  add_dv_differs_cases(cs);
  add_fixed_len_and_seqused_cases(cs);
  add_gqa_cases(cs, {1, 4, 8, 32}, 2);  // GQA ratios, with and without packing
  add_mask_cases(cs, 260);
  add_softcap_and_sink_cases(cs, 200);
  add_zero_length_cases(cs);
  // paged KV
  for (int ps : {1, 16, 64, 256}) {
    ProblemConfig c;
    c.page_size = ps;
    c.causal = true;
    c.h = 8;
    c.h_k = 2;
    c.max_len = 300;
    add("paged" + std::to_string(ps), c);
    c.seqlens_q = {1, 1, 2};
    c.seqlens_k = {257, 64, 300};
    c.batch = 3;
    c.num_splits = 3;
    RunOptions o;
    o.pack_gqa = true;
    add("paged" + std::to_string(ps) + "_decode_split_packed", c, o);
    o.workspace = true;
    add("paged" + std::to_string(ps) + "_decode_split_packed_workspace", c, o);
  }
  // split-KV
  for (int splits : {2, 5}) {
    ProblemConfig c;
    c.num_splits = splits;
    c.seqlens_q = {40, 1, 130};
    c.seqlens_k = {600, 333, 130};
    c.batch = 3;
    add("split" + std::to_string(splits), c);
    c.causal = true;
    c.sinks = true;
    add("split" + std::to_string(splits) + "_causal_sinks", c);
    c.window_left = 50;
    c.softcap = 10.f;
    add("split" + std::to_string(splits) + "_window_softcap", c);
    c = ProblemConfig{};
    c.num_splits = splits;
    c.varlen = false;
    c.seqlens_q = {3, 3};
    c.seqlens_k = {500, 500};
    add("split" + std::to_string(splits) + "_fixed_len", c);
  }
  // fp8 e4m3 (dequantized to bf16; out bf16)
  for (int d : {64, 128}) {
    ProblemConfig c;
    c.dtype = DType::fp8_e4m3;
    c.d = c.dv = d;
    c.descale = true;
    c.causal = d == 128;
    add("fp8_d" + std::to_string(d), c);
    c.num_splits = 2;
    c.seqlens_k = {300, 200};
    c.seqlens_q = {20, 1};
    add("fp8_d" + std::to_string(d) + "_split", c);
  }
  // MLA: qv, only_qv
  {
    ProblemConfig c;
    c.d = 64;
    c.dv = 128;
    c.qv = true;
    add("qv_d64_dv128", c);
    c.causal = true;
    c.only_qv = true;
    c.qv = false;
    add("only_qv_causal", c);
  }
  // strided out (row / head padding)
  {
    ProblemConfig c;
    c.causal = true;
    RunOptions o;
    o.out_head_pad = 8;
    o.out_row_pad = 24;
    add("out_strided", c, o);
    c.num_splits = 3;
    c.seqlens_k = {300, 180};
    add("out_strided_split", c, o);
  }
  return cs.take();
}

// The kernel specs the cases need, compiled in parallel up front.
std::vector<jit::KernelSpec>& tested_specs() {
  static std::vector<jit::KernelSpec> specs;
  return specs;
}

void precompile(const std::vector<Case>& cases, const DeviceInfo& dev) {
  tested_specs() = compile_case_kernels(cases, [&dev](const Case& c, detail::Plan& plan) {
    auto& prm = plan.params;
    prm.num_splits = std::clamp(c.opt.num_splits.value_or(c.cfg.num_splits), 1,
                                std::max(1, (prm.max_seqlen_k + 63) / 64));
    prm.pack_gqa = c.opt.pack_gqa.value_or(false) && prm.h != prm.h_k;
    const detail::Sm80KernelKey key = detail::sm80_key_for(plan, dev);
    std::vector<jit::KernelSpec> specs;
    if (key.tile.block_m == 0) return specs;
    specs.push_back(detail::sm80_fwd_spec(key));
    if (key.split) specs.push_back(detail::combine_spec(key.arch, plan.out_dtype));
    return specs;
  });
}

class Sm80Gpu : public ::testing::TestWithParam<Case> {
 protected:
  static void SetUpTestSuite() {
    if (const DeviceInfo* dev = sm80_gpu(); dev && precompile_pays()) precompile(all_cases(), *dev);
  }
};

TEST_P(Sm80Gpu, MatchesReference) {
  SKIP_WITHOUT_GPU();
  const Case& c = GetParam();
  const CheckResult res = run_case(c, Device{DeviceType::CUDA, sm80_gpu()->index}, KernelPath::Sm80);
  EXPECT_TRUE(res.ok) << describe(c) << "\n  " << res.message;
  RecordProperty("max_err", std::to_string(res.max_err));
}

INSTANTIATE_TEST_SUITE_P(All, Sm80Gpu, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<Case>& i) { return i.param.name; });

// Other tiles than this GPU's default: the double-buffered K/V pipeline and
// 4-warp tiles (FA3JIT_SM80_TILE), and what a 99 KiB GPU would pick
// (FA3JIT_SM80_MAX_SMEM), each on a few cases.
TEST(Sm80GpuTileVariants, MatchesReference) {
  SKIP_WITHOUT_GPU();
  struct Variant {
    const char* env;
    const char* value;
    std::vector<std::string> cases;
  };
  const std::vector<std::string> common = {"bfloat16_d128_causal", "float16_d64_causal", "qv_d64_dv128",
                                           "only_qv_causal", "split2_causal_sinks", "paged16_decode_split_packed",
                                           "fp8_d64", "zero_lengths_causal"};
  std::vector<std::string> with256 = common;
  with256.push_back("float16_d256_causal");
  const std::vector<Variant> variants = {
      {"FA3JIT_SM80_TILE", "128x64x8x2", common},
      {"FA3JIT_SM80_TILE", "64x32x4x1", with256},
      {"FA3JIT_SM80_MAX_SMEM", "101376", {"float16_d256_causal", "bfloat16_d256", "qv_d64_dv128"}},
  };
  const std::vector<Case> cases = all_cases();
  for (const Variant& v : variants) {
    setenv(v.env, v.value, 1);
    for (const std::string& name : v.cases) {
      const Case* c = find_case(cases, name);
      ASSERT_NE(c, nullptr) << name;
      const CheckResult res = run_case(*c, Device{DeviceType::CUDA, sm80_gpu()->index}, KernelPath::Sm80);
      EXPECT_TRUE(res.ok) << v.env << "=" << v.value << ", " << describe(*c) << "\n  " << res.message;
    }
    unsetenv(v.env);
  }
}

TEST(Sm80GpuErrors, Dv512IsNotSupportedNamingTheArgument) {
  SKIP_WITHOUT_GPU();
  ProblemConfig c;
  c.d = 64;
  c.dv = 512;
  c.max_len = 20;
  Problem p = make_problem(c);
  try {
    run_problem(p, Device{DeviceType::CUDA, sm80_gpu()->index}, KernelPath::Sm80);
    ADD_FAILURE() << "dv = 512 ran on the sm80 path";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotSupported);
    EXPECT_NE(std::string(e.what()).find("dv = 512"), std::string::npos) << e.what();
  }
}

// The compiled kernels never spill to local memory: the common ones and
// every one the cases above ran.
TEST(Sm80GpuKernels, NoLocalMemory) {
  SKIP_WITHOUT_GPU();
  const DeviceInfo& dev = *sm80_gpu();
  std::vector<jit::KernelSpec> specs = detail::sm80_warmup_specs(dev.major * 10 + dev.minor);
  if (tested_specs().empty()) precompile(all_cases(), dev);
  specs.insert(specs.end(), tested_specs().begin(), tested_specs().end());
  ASSERT_FALSE(specs.empty());
  for (const std::string& spill : kernels_that_spill(specs, dev.index)) ADD_FAILURE() << spill;
}

}  // namespace
}  // namespace fa3jit::testing
