// flash_attn_with_kvcache on the CPU backend: the decode feature matrix
// (appended caches compared byte for byte, attention against the float64
// reference on host copies), every new argument's validation error, and the
// append kernel compiling with NVRTC for sm_80 / sm_90 (no GPU needed).
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <ostream>
#include <string>

#include "fa3jit/error.h"
#include "fa3jit/kvcache.h"
#include "jit/jit.h"
#include "testing/kvcache_problem.h"
#include "testing/run_kvcache.h"

namespace fa3jit::testing {
namespace {

class KvcacheCpu : public ::testing::TestWithParam<KvcacheCase> {};

TEST_P(KvcacheCpu, MatchesReference) {
  const KvcacheProblem problem = make_kvcache_problem(GetParam().cfg);
  const KvcacheExpected expected = expected_kvcache(problem);
  const KvcacheRun run = run_kvcache(problem, Device{});
  EXPECT_EQ(check_kvcache_run(expected, run), "");
}

INSTANTIATE_TEST_SUITE_P(Cases, KvcacheCpu, ::testing::ValuesIn(kvcache_cases(false)),
                         [](const auto& info) { return info.param.name; });

TEST(KvcacheCpu, ReturnsAllocatedOutputs) {
  KvcacheConfig c;
  c.cache_seqlens = {4, 7, 1};
  c.new_lens = {1};
  KvcacheProblem p = make_kvcache_problem(c);
  const KvcacheExpected expected = expected_kvcache(p);
  KvcacheArgs a = p.args();
  a.out = Tensor{};
  a.softmax_lse = Tensor{};
  const VarlenResult r = flash_attn_with_kvcache(a);
  ASSERT_TRUE(r.out_storage && r.lse_storage);
  const CheckResult check = check_against_reference(expected.attention, r.out, r.softmax_lse);
  EXPECT_TRUE(check.ok) << check.message;
}

// ---- validation: each mutation of a valid call raises the named error and
// writes nothing (the caches keep their bytes).
struct BadCase {
  std::string name;
  std::function<void(KvcacheProblem&, KvcacheArgs&)> mutate;
  ErrorKind kind;
  std::string message;  // a part of the expected message
};

KvcacheConfig valid_config() {
  KvcacheConfig c;
  c.cache_seqlens = {5, 0, 40};
  c.new_lens = {2};
  c.rotary_dim = 16;
  c.causal = true;
  c.q_lens = {2};
  return c;
}

std::vector<BadCase> bad_cases() {
  using K = ErrorKind;
  static HostTensor ints3 = HostTensor::from_ints({0, 1, 2});
  static HostTensor f32_3(DType::f32, {3});
  static HostTensor ints2 = HostTensor::from_ints({0, 1});
  static HostTensor cu_bad = HostTensor::from_ints({0, 2, 1, 4});
  static HostTensor dup_idx = HostTensor::from_ints({2, 0, 2});
  static HostTensor big_idx = HostTensor::from_ints({0, 7, 1});
  static HostTensor pad_big = HostTensor::from_ints({6, 0, 0});
  static HostTensor lens_full = HostTensor::from_ints({95, 0, 1});
  static HostTensor rot_far = HostTensor::from_ints({200, 0, 0});
  static HostTensor pages(DType::i32, {3, 6});
  static HostTensor sched_short = HostTensor::from_ints({kSchedulerMetadataMarker, 1, 2});
  static HostTensor sched_f32(DType::f32, {4});
  static HostTensor sched_foreign = HostTensor::from_ints({7, 1, 2, 0});
  static HostTensor sched_bad_pack = HostTensor::from_ints({kSchedulerMetadataMarker, 1, 2, 5});
  static HostTensor sched_2_0 = HostTensor::from_ints({kSchedulerMetadataMarker, 1, 2, 0});
  static HostTensor cos_odd(DType::bf16, {112, 40});
  return {
      {"q_missing", [](auto&, auto& a) { a.q = Tensor{}; }, K::InvalidValue, "q is required"},
      {"k_cache_missing", [](auto&, auto& a) { a.k_cache = Tensor{}; }, K::InvalidValue, "k_cache is required"},
      {"v_without_k",
       [](auto&, auto& a) {
         a.k = Tensor{};
         a.rotary_cos = a.rotary_sin = Tensor{};
       },
       K::InvalidValue, "v is given but k is none"},
      {"sin_without_cos", [](auto&, auto& a) { a.rotary_cos = Tensor{}; }, K::InvalidValue,
       "rotary_sin is given but rotary_cos is none"},
      {"rotary_without_k", [](auto&, auto& a) { a.k = a.v = Tensor{}; }, K::InvalidValue,
       "rotary_cos / rotary_sin need k / v"},
      {"rotary_seqlens_without_rotary",
       [](auto&, auto& a) {
         a.rotary_cos = a.rotary_sin = Tensor{};
         a.rotary_seqlens = ints3.view();
       },
       K::InvalidValue, "rotary_seqlens is given but rotary_cos is none"},
      {"cu_seqlens_k_new_without_k",
       [](auto&, auto& a) {
         a.k = a.v = a.rotary_cos = a.rotary_sin = Tensor{};
         a.cu_seqlens_k_new = ints3.view();
       },
       K::InvalidValue, "cu_seqlens_k_new is given but k is none"},
      {"append_without_cache_seqlens", [](auto&, auto& a) { a.cache_seqlens = std::monostate{}; }, K::InvalidValue,
       "cache_seqlens is required"},
      {"workspace_on_another_device",
       [](auto&, auto& a) {
         a.workspace = f32_3.view();
         a.workspace.device = Device{DeviceType::CUDA, 0};
       },
       K::InvalidValue, "workspace is on cuda:0"},
      {"scheduler_metadata_short", [](auto&, auto& a) { a.scheduler_metadata = sched_short.view(); },
       K::InvalidValue, "scheduler_metadata.shape[0] = 3 must be 4 (the words of the plan)"},
      {"scheduler_metadata_float", [](auto&, auto& a) { a.scheduler_metadata = sched_f32.view(); }, K::InvalidType,
       "scheduler_metadata must be int32"},
      {"scheduler_metadata_foreign", [](auto&, auto& a) { a.scheduler_metadata = sched_foreign.view(); },
       K::InvalidValue, "scheduler_metadata is not a plan of get_scheduler_metadata"},
      {"scheduler_metadata_bad_pack", [](auto&, auto& a) { a.scheduler_metadata = sched_bad_pack.view(); },
       K::InvalidValue, "pack_gqa = 5: want num_splits >= 1 and pack_gqa 0 or 1"},
      {"scheduler_metadata_on_gpu",
       [](auto&, auto& a) {
         a.scheduler_metadata = sched_2_0.view();
         a.scheduler_metadata.device = Device{DeviceType::CUDA, 0};
       },
       K::InvalidValue, "scheduler_metadata must be in host memory"},
      {"num_splits_against_scheduler_metadata",
       [](auto&, auto& a) {
         a.scheduler_metadata = sched_2_0.view();
         a.num_splits = 3;
       },
       K::InvalidValue, "num_splits = 3 disagrees with scheduler_metadata's plan (num_splits = 2)"},
      {"pack_gqa_against_scheduler_metadata",
       [](auto&, auto& a) {
         a.scheduler_metadata = sched_2_0.view();
         a.num_splits = 0;
         a.pack_gqa = true;
       },
       K::InvalidValue, "pack_gqa = true disagrees with scheduler_metadata's plan (pack_gqa = false)"},
      {"batch_idx_with_pages",
       [](auto&, auto& a) {
         a.cache_batch_idx = ints3.view();
         a.page_table = pages.view();
       },
       K::NotSupported, "cache_batch_idx with page_table"},
      {"leftpad_with_pages",
       [](auto&, auto& a) {
         a.cache_leftpad = ints3.view();
         a.page_table = pages.view();
       },
       K::NotSupported, "cache_leftpad with page_table"},
      {"attention_chunk_negative", [](auto&, auto& a) { a.attention_chunk = -2; }, K::InvalidValue,
       "attention_chunk = -2 must be >= 0"},
      {"k_cache_dtype",
       [](auto& p, auto& a) {
         a.k_cache.dtype = DType::f16;
         (void)p;
       },
       K::InvalidType, "k_cache must be bfloat16 (the dtype of q)"},
      {"k_dtype", [](auto&, auto& a) { a.k.dtype = DType::f16; }, K::InvalidType,
       "k must be bfloat16 (the dtype of q)"},
      {"k_cache_rank", [](auto&, auto& a) { a.k_cache.ndim = 3; }, K::InvalidValue, "k_cache"},
      {"k_cache_batch",
       [](auto&, auto& a) {
         a.k_cache.shape[0] = 2;
         a.v_cache.shape[0] = 2;
       },
       K::InvalidValue, "k_cache.shape[0]"},
      {"k_cache_heads", [](auto&, auto& a) { a.k_cache.shape[2] = 3; }, K::InvalidValue, "k_cache's heads h_k = 3"},
      {"v_cache_heads", [](auto&, auto& a) { a.v_cache.shape[2] = 1; }, K::InvalidValue, "v_cache"},
      {"k_new_batch", [](auto&, auto& a) { a.k.shape[0] = 2; }, K::InvalidValue, "k.shape[0]"},
      {"v_new_dv", [](auto&, auto& a) { a.v.shape[3] = 32; }, K::InvalidValue, "v.shape[3]"},
      {"k_new_rank_varlen", [](auto&, auto& a) { a.cu_seqlens_k_new = ints3.view(); }, K::InvalidValue,
       "(total_new, h_k, d) with cu_seqlens_k_new"},
      {"cache_seqlens_dtype", [](auto&, auto& a) { a.cache_seqlens = f32_3.view(); }, K::InvalidType,
       "cache_seqlens must be int32"},
      {"cache_seqlens_shape", [](auto&, auto& a) { a.cache_seqlens = ints2.view(); }, K::InvalidValue, "cache_seqlens"},
      {"cache_seqlens_scalar_too_big", [](auto&, auto& a) { a.cache_seqlens = int64_t(97); }, K::InvalidValue,
       "cache_seqlens = 97 must be in [0, 96]"},
      {"cache_batch_idx_shape", [](auto&, auto& a) { a.cache_batch_idx = ints2.view(); }, K::InvalidValue,
       "cache_batch_idx"},
      {"cache_batch_idx_value", [](auto&, auto& a) { a.cache_batch_idx = big_idx.view(); }, K::InvalidValue,
       "cache_batch_idx[1] = 7 must be in [0, 3)"},
      {"cache_leftpad_value", [](auto&, auto& a) { a.cache_leftpad = pad_big.view(); }, K::InvalidValue,
       "cache_leftpad[0] = 6 must be in [0, cache_seqlens[0] = 5]"},
      {"append_overflows_cache", [](auto&, auto& a) { a.cache_seqlens = lens_full.view(); }, K::InvalidValue,
       "more than its cache can hold: 96"},
      {"rotary_dim_odd_shape", [](auto&, auto& a) { a.rotary_cos = a.rotary_sin = cos_odd.view(); }, K::InvalidValue,
       "rotary_dim = 2 * rotary_cos.shape[1] = 80 must be in [2, d = 64]"},
      {"rotary_sin_shape", [](auto&, auto& a) { a.rotary_sin.shape[0] = 5; }, K::InvalidValue, "rotary_sin"},
      {"rotary_dtype", [](auto&, auto& a) { a.rotary_cos.dtype = DType::f16; }, K::InvalidType, "rotary_cos must be"},
      {"rotary_positions", [](auto&, auto& a) { a.rotary_seqlens = rot_far.view(); }, K::InvalidValue,
       "rotary positions [200, 202)"},
      {"cu_seqlens_k_new_decreasing",
       [](auto& p, auto& a) {
         a.k = p.k.view();
         a.k.ndim = 3, a.k.shape = {6, 2, 64, 0}, a.k.stride = {128, 64, 1, 0};
         a.v = a.k;
         a.cu_seqlens_k_new = cu_bad.view();
       },
       K::InvalidValue, "cu_seqlens_k_new must be non-decreasing"},
      {"cache_batch_idx_shared_while_appending", [](auto&, auto& a) { a.cache_batch_idx = dup_idx.view(); },
       K::InvalidValue, "cache_batch_idx[0] = cache_batch_idx[2] = 2"},
      // Attention arguments: checked by the varlen rules, which say they ran on the cache.
      {"sinks_shape", [](auto&, auto& a) { a.sinks = f32_3.view(); }, K::InvalidValue, "sinks"},
      {"num_splits_negative", [](auto&, auto& a) { a.num_splits = -1; }, K::InvalidValue,
       "k / v here are k_cache / v_cache"},
      {"q_on_other_device",
       [](auto&, auto& a) {
         a.k.device = Device{DeviceType::CUDA, 0};
       },
       K::InvalidValue, "k is on cuda:0 but q is on cpu"},
  };
}

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class KvcacheErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(KvcacheErrors, NamedErrorAndNothingWritten) {
  KvcacheProblem p = make_kvcache_problem(valid_config());
  const HostTensor k_before = p.k_cache, v_before = p.v_cache, out_before = p.out;
  KvcacheArgs a = p.args();
  GetParam().mutate(p, a);
  try {
    flash_attn_with_kvcache(a);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(int(e.kind()), int(GetParam().kind)) << e.what();
    EXPECT_NE(std::string(e.what()).find(GetParam().message), std::string::npos) << e.what();
  }
  EXPECT_EQ(std::memcmp(k_before.data(), p.k_cache.data(), k_before.nbytes()), 0);
  EXPECT_EQ(std::memcmp(v_before.data(), p.v_cache.data(), v_before.nbytes()), 0);
  EXPECT_EQ(std::memcmp(out_before.data(), p.out.data(), out_before.nbytes()), 0);
}

INSTANTIATE_TEST_SUITE_P(Rules, KvcacheErrors, ::testing::ValuesIn(bad_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(KvcacheCpu, ValidProblemRunsBeforeMutation) {
  // The base of the error table is itself valid (so each error is the mutation's).
  const KvcacheProblem p = make_kvcache_problem(valid_config());
  EXPECT_EQ(check_kvcache_run(expected_kvcache(p), run_kvcache(p, Device{})), "");
}

// get_scheduler_metadata gives the plan the call would run and writes
// nothing; a call given a plan runs it (here 3 splits, which the shapes
// alone would not pick on the CPU) with the reference's answers, whatever
// the lengths of the later call.
TEST(KvcacheCpu, SchedulerMetadataFixesThePlan) {
  KvcacheConfig c = valid_config();
  c.s_cache = 700;
  c.cache_seqlens = {500, 0, 240};
  c.num_splits = 0;  // auto
  KvcacheProblem p = make_kvcache_problem(c);
  const HostTensor k_before = p.k_cache, out_before = p.out;
  const SchedulerMetadata plan = get_scheduler_metadata(p.args());
  EXPECT_EQ(plan[0], kSchedulerMetadataMarker);
  EXPECT_EQ(plan[1], kSchedulerMetadataVersion);
  EXPECT_GE(plan[2], 1);
  EXPECT_TRUE(plan[3] == 0 || plan[3] == 1);
  EXPECT_EQ(std::memcmp(k_before.data(), p.k_cache.data(), k_before.nbytes()), 0) << "k_cache written";
  EXPECT_EQ(std::memcmp(out_before.data(), p.out.data(), out_before.nbytes()), 0) << "out written";
  // The same plan asked for explicitly: the same words.
  KvcacheArgs asked = p.args();
  asked.num_splits = plan[2];
  asked.pack_gqa = plan[3] != 0;
  EXPECT_EQ(get_scheduler_metadata(asked), plan);

  for (std::vector<int> lens : {std::vector<int>{500, 0, 240}, std::vector<int>{610, 3, 1}}) {
    KvcacheConfig later = c;
    later.cache_seqlens = lens;
    KvcacheProblem q = make_kvcache_problem(later);
    HostTensor forced = HostTensor::from_ints({kSchedulerMetadataMarker, kSchedulerMetadataVersion, 3, 1});
    KvcacheArgs a = q.args();
    a.scheduler_metadata = forced.view();
    EXPECT_EQ(get_scheduler_metadata(a)[2], 3);  // the given plan (clamped only to the key blocks)
    EXPECT_EQ(get_scheduler_metadata(a)[3], 1);
    const KvcacheExpected expected = expected_kvcache(q);
    flash_attn_with_kvcache(a);
    const CheckResult check = check_against_reference(expected.attention, q.out.view(), q.lse.view());
    EXPECT_TRUE(check.ok) << check.message;
  }
}

// The append kernel compiles with NVRTC for every dtype (no GPU needed).
TEST(KvcacheJit, AppendKernelCompiles) {
  for (int arch : {80, 90})
    for (DType t : {DType::bf16, DType::f16, DType::fp8_e4m3}) {
      jit::KernelSpec spec;
      spec.entry_file = "kvcache/append_rotary.cu";
      spec.kernel_name = "fa3jit_k::append_rotary<" + std::to_string(int(t)) + ">";
      spec.arch = arch;
      EXPECT_FALSE(jit::get_cubin(spec).empty()) << spec.describe();
    }
}

}  // namespace
}  // namespace fa3jit::testing
