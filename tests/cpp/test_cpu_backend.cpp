// The CPU backend against the float64 reference, through the public entry
// point (path = cpu): every dtype and head dim, masks, paging, GQA, sinks,
// softcap, MLA (qv / only_qv), fp8 descales, seqused, 4-D, split-KV; plus
// split results equal to no-split, the thread pool, and the backend's own
// argument checks.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/thread_pool.h"
#include "fa3jit/fa3jit.h"
#include "../../kernels/common/softmax.cuh"
#include "../../kernels/common/warp_math.cuh"
#include "testing/problem.h"
#include "validate/plan.h"

namespace fa3jit::testing {
namespace {

std::string describe(const ProblemConfig& c) {
  std::ostringstream s;
  s << dtype_name(c.dtype) << " b=" << c.batch << " h=" << c.h << "/" << c.h_k << " d=" << c.d << " dv=" << c.dv
    << " varlen=" << c.varlen << " page=" << c.page_size << " causal=" << c.causal << " window=("
    << c.window_left << "," << c.window_right << ") chunk=" << c.attention_chunk << " softcap=" << c.softcap
    << " sinks=" << c.sinks << " qv=" << c.qv << " only_qv=" << c.only_qv << " descale=" << c.descale
    << " seqused=" << c.seqused_q << c.seqused_k << " splits=" << c.num_splits << " give_out=" << c.give_out
    << " seed=" << c.seed;
  return s.str();
}

// Runs the problem on the CPU path and checks it against the reference.
// pack_gqa: -1 = auto, else forced.
void expect_matches_reference(const ProblemConfig& cfg, int pack_gqa = -1) {
  SCOPED_TRACE(describe(cfg) + " pack_gqa=" + std::to_string(pack_gqa));
  const Problem pr = make_problem(cfg);
  VarlenArgs a = pr.args();
  a.path = KernelPath::Cpu;
  if (pack_gqa >= 0) a.pack_gqa = pack_gqa != 0;
  const VarlenResult r = flash_attn_varlen(a);
  ASSERT_EQ(r.out.data != nullptr, true);
  if (cfg.give_out) {
    EXPECT_EQ(r.out.data, pr.out.view().data) << "out given: results must land in it";
  }
  EXPECT_EQ(r.softmax_lse.defined(), cfg.return_lse);
  const CheckResult c = check_against_reference(pr, r.out, r.softmax_lse);
  EXPECT_TRUE(c.ok) << c.message << " (max_err " << c.max_err << ", tol " << c.tol << ", lse_err "
                    << c.lse_max_err << ")";
}

ProblemConfig small(DType dtype, int d, int dv, uint64_t seed) {
  ProblemConfig c;
  c.dtype = dtype;
  c.batch = 2;
  c.h = 2;
  c.h_k = 1;
  c.d = d;
  c.dv = dv;
  c.max_len = 9;
  c.seed = seed;
  return c;
}

// ---- dtype x head dim sweep (tiny lengths)

class CpuDtypeHeadDim : public ::testing::TestWithParam<std::tuple<DType, int>> {};

TEST_P(CpuDtypeHeadDim, MatchesReference) {
  const auto [dtype, d] = GetParam();
  ProblemConfig c = small(dtype, d, d, uint64_t(d) * 7 + int(dtype));
  c.causal = (d / 8) % 2 == 1;  // half of them causal
  expect_matches_reference(c);
}

std::string dtype_dim_name(const ::testing::TestParamInfo<std::tuple<DType, int>>& info) {
  return std::string(dtype_name(std::get<0>(info.param))) + "_d" + std::to_string(std::get<1>(info.param));
}

INSTANTIATE_TEST_SUITE_P(CpuAllDims, CpuDtypeHeadDim,
                         ::testing::Combine(::testing::Values(DType::f32, DType::f16, DType::bf16, DType::fp8_e4m3),
                                            ::testing::Range(8, 257, 8)),
                         dtype_dim_name);

// ---- head dims of v different from q/k, and dv 512

TEST(CpuHeadDims, DvDiffersFromD) {
  const std::pair<int, int> dims[] = {{64, 128}, {128, 64}, {192, 128}, {8, 256}, {256, 8}, {40, 24}};
  uint64_t seed = 100;
  for (DType t : {DType::bf16, DType::f16, DType::fp8_e4m3})
    for (auto [d, dv] : dims) expect_matches_reference(small(t, d, dv, seed++));
}

TEST(CpuHeadDims, Dv512) {
  for (DType t : {DType::bf16, DType::f32}) {
    ProblemConfig c = small(t, 64, 512, 200 + int(t));
    c.max_len = 20;
    expect_matches_reference(c);
    c.causal = true;
    expect_matches_reference(c);
  }
}

// ---- lengths: empty, one, 17, and one long case

TEST(CpuLengths, EmptyOneAndOddLengths) {
  ProblemConfig c = small(DType::bf16, 64, 64, 300);
  c.batch = 5;
  c.seqlens_q = {0, 1, 17, 17, 1};
  c.seqlens_k = {17, 0, 1, 17, 1};
  for (bool causal : {false, true}) {
    c.causal = causal;
    expect_matches_reference(c);
  }
}

TEST(CpuLengths, AllKeysEmpty) {
  ProblemConfig c = small(DType::bf16, 32, 32, 301);
  c.batch = 3;
  c.seqlens_q = {1, 17, 4};
  c.seqlens_k = {0, 0, 0};
  expect_matches_reference(c);
  c.sinks = true;  // no key: out 0, LSE = the sink
  expect_matches_reference(c);
}

TEST(CpuLengths, LongSequence) {
  ProblemConfig c = small(DType::bf16, 64, 64, 302);
  c.batch = 2;
  c.h = 4;
  c.h_k = 2;
  c.seqlens_q = {1030, 3};
  c.seqlens_k = {1100, 1200};
  c.causal = true;
  expect_matches_reference(c);
}

// ---- the lazy running max shared with the GPU paths (common/softmax.cuh)

TEST(CpuLazyMax, MovesOnlyPastTheSlack) {
  using fa3jit_k::kLog2e, fa3jit_k::kMaxSlack16, fa3jit_k::kMaxSlackE4m3, fa3jit_k::running_max_moves;
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_TRUE(running_max_moves(3.f, -inf, 1.f, kMaxSlack16));    // the first key
  EXPECT_FALSE(running_max_moves(-inf, -inf, 1.f, kMaxSlack16));  // no key yet
  EXPECT_FALSE(running_max_moves(8.f, 0.f, 1.f, kMaxSlack16));    // exactly the slack
  EXPECT_TRUE(running_max_moves(8.5f, 0.f, 1.f, kMaxSlack16));
  EXPECT_FALSE(running_max_moves(-5.f, 0.f, 1.f, kMaxSlack16));   // a smaller max
  EXPECT_TRUE(running_max_moves(6.f, 0.f, kLog2e, kMaxSlack16));  // 6 nats = 8.66 log2 units
  EXPECT_FALSE(running_max_moves(0.7f, 0.f, 1.f, kMaxSlackE4m3));
  EXPECT_TRUE(running_max_moves(0.9f, 0.f, 1.f, kMaxSlackE4m3));
}

// ---- masks

TEST(CpuMasks, CausalWindowChunk) {
  struct Mask {
    bool causal;
    int left, right, chunk;
  };
  const Mask masks[] = {{true, -1, -1, 0}, {false, 5, 3, 0},  {false, -1, 2, 0}, {false, 4, -1, 0},
                        {true, 6, -1, 0},  {false, -1, -1, 8}, {true, -1, -1, 5}, {false, 10, 2, 16},
                        {false, 0, 0, 0},  {true, 0, -1, 0},  {false, 70, 70, 0}};
  uint64_t seed = 400;
  for (const Mask& m : masks) {
    ProblemConfig c = small(DType::bf16, 32, 32, seed++);
    c.batch = 3;
    c.seqlens_q = {20, 90, 5};
    c.seqlens_k = {20, 150, 70};  // s_k > s_q: bottom-right alignment matters
    c.causal = m.causal;
    c.window_left = m.left;
    c.window_right = m.right;
    c.attention_chunk = m.chunk;
    expect_matches_reference(c);
  }
}

// ---- score transforms: softcap, sinks

TEST(CpuScores, Softcap) {
  for (DType t : {DType::bf16, DType::fp8_e4m3}) {
    ProblemConfig c = small(t, 64, 64, 500 + int(t));
    c.max_len = 40;
    c.softcap = 2.5f;
    c.value_scale = 2.f;  // scores large enough for the cap to bite
    expect_matches_reference(c);
    c.causal = true;
    expect_matches_reference(c);
  }
}

TEST(CpuScores, Sinks) {
  for (DType sink_t : {DType::f32, DType::bf16}) {
    ProblemConfig c = small(DType::bf16, 64, 64, 510 + int(sink_t));
    c.max_len = 40;
    c.sinks = true;
    c.sinks_dtype = sink_t;
    expect_matches_reference(c);
    c.window_left = 3;
    c.window_right = 0;
    c.softcap = 5.f;
    expect_matches_reference(c);
  }
}

TEST(CpuScores, LargeScoresRescaleStably) {
  // Scores in the hundreds across many key blocks: the running max moves
  // often and exp must never overflow; block maxima move it by less than
  // the lazy max's slack (kept stale, P up to 2^8) and by more. Fails if
  // the rescale of a moved max is dropped.
  ProblemConfig c = small(DType::bf16, 128, 128, 520);
  c.batch = 2;
  c.seqlens_q = {70, 3};
  c.seqlens_k = {400, 300};
  c.value_scale = 4.f;
  expect_matches_reference(c);
  c.causal = true;
  expect_matches_reference(c);
  c.causal = false;
  c.num_splits = 3;
  c.sinks = true;
  expect_matches_reference(c);
}

// ---- MLA: qv and only_qv; fp8 descales

TEST(CpuMla, Qv) {
  ProblemConfig c = small(DType::bf16, 64, 512, 600);
  c.max_len = 30;
  c.qv = true;
  expect_matches_reference(c);
  c.causal = true;
  c.h = 8;
  c.h_k = 1;
  expect_matches_reference(c);
}

TEST(CpuMla, OnlyQv) {
  ProblemConfig c = small(DType::bf16, 64, 128, 610);
  c.max_len = 30;
  c.only_qv = true;
  expect_matches_reference(c);
  c.dv = 512;
  c.causal = true;
  expect_matches_reference(c);
}

TEST(CpuFp8, Descale) {
  ProblemConfig c = small(DType::fp8_e4m3, 128, 128, 620);
  c.max_len = 40;
  c.h = 4;
  c.h_k = 2;
  c.descale = true;
  expect_matches_reference(c);
  c.causal = true;
  c.page_size = 16;
  expect_matches_reference(c);
}

// ---- layout: paged KV x GQA, seqused, 4-D, out allocated

class CpuPagedGqa : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(CpuPagedGqa, MatchesReference) {
  const auto [page_size, ratio] = GetParam();
  ProblemConfig c = small(DType::bf16, 64, 64, uint64_t(700 + page_size * 10 + ratio));
  c.batch = 3;
  c.h_k = 2;
  c.h = 2 * ratio;
  c.max_len = 80;
  c.page_size = page_size;
  for (int pack : {0, 1}) {
    c.causal = pack == 1;
    expect_matches_reference(c, ratio > 1 ? pack : 0);
  }
}

INSTANTIATE_TEST_SUITE_P(CpuPagesAndGroups, CpuPagedGqa,
                         ::testing::Combine(::testing::Values(0, 1, 3, 16, 64), ::testing::Values(1, 4, 8)));

TEST(CpuLayout, GroupLargerThanATile) {
  // MQA with 96 q-heads per kv-head: a packed tile holds one query row of
  // all 96 heads (more than kTileRows).
  ProblemConfig c = small(DType::bf16, 64, 64, 790);
  c.h = 96;
  c.h_k = 1;
  c.seqlens_q = {1, 3};
  c.seqlens_k = {100, 130};
  c.causal = true;
  for (int pack : {0, 1}) expect_matches_reference(c, pack);
  c.num_splits = 2;
  expect_matches_reference(c, 1);
}

TEST(CpuLayout, Seqused) {
  ProblemConfig c = small(DType::bf16, 64, 64, 800);
  c.batch = 4;
  c.max_len = 50;
  c.seqused_q = true;  // rows past seqused_q must stay untouched
  c.seqused_k = true;
  expect_matches_reference(c);
  c.causal = true;
  c.page_size = 3;
  expect_matches_reference(c);
}

TEST(CpuLayout, FixedLength4D) {
  ProblemConfig c = small(DType::f16, 64, 64, 810);
  c.varlen = false;
  c.batch = 3;
  c.seqlens_q = {33};
  c.seqlens_k = {70};
  expect_matches_reference(c);
  c.causal = true;
  c.seqused_k = true;
  expect_matches_reference(c);
  c.seqused_q = true;
  c.num_splits = 2;
  expect_matches_reference(c);
}

TEST(CpuLayout, OutAllocatedAndNoLse) {
  ProblemConfig c = small(DType::bf16, 64, 64, 820);
  c.max_len = 40;
  c.give_out = false;
  expect_matches_reference(c);
  c.return_lse = false;
  expect_matches_reference(c);
  c.give_out = true;
  expect_matches_reference(c);
}

TEST(CpuLayout, StridedQkvSlices) {
  // q, k, v as slices of one packed (tokens, 3, h, d) buffer: row strides of
  // 3*h*d elements. Same values as the problem's contiguous buffers, so the
  // problem's reference still judges the result.
  ProblemConfig c = small(DType::bf16, 64, 64, 830);
  c.batch = 3;
  c.h = c.h_k = 2;
  c.seqlens_q = {5, 40, 17};
  c.seqlens_k = c.seqlens_q;
  c.causal = true;
  const Problem pr = make_problem(c);
  const int64_t tokens = pr.q.shape()[0], hd = int64_t(c.h) * c.d;
  HostTensor qkv(c.dtype, {tokens, 3, c.h, c.d});
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t e = 0; e < hd; ++e) {
      qkv.set((t * 3 + 0) * hd + e, pr.q.get(t * hd + e));
      qkv.set((t * 3 + 1) * hd + e, pr.k.get(t * hd + e));
      qkv.set((t * 3 + 2) * hd + e, pr.v.get(t * hd + e));
    }
  auto slice = [&](int which) {
    Tensor t = pr.q.view();
    t.data = static_cast<uint8_t*>(qkv.view().data) + which * hd * int64_t(dtype_size(c.dtype));
    t.stride = {3 * hd, c.d, 1, 0};
    return t;
  };
  VarlenArgs a = pr.args();
  a.path = KernelPath::Cpu;
  a.q = slice(0);
  a.k = slice(1);
  a.v = slice(2);
  const VarlenResult r = flash_attn_varlen(a);
  const CheckResult check = check_against_reference(pr, r.out, r.softmax_lse);
  EXPECT_TRUE(check.ok) << check.message;
}

// ---- split-KV

TEST(CpuSplits, MatchReference) {
  for (int splits : {1, 2, 3, 7}) {
    ProblemConfig c = small(DType::bf16, 64, 64, uint64_t(900 + splits));
    c.batch = 3;
    c.h = 4;
    c.h_k = 1;
    c.seqlens_q = {1, 4, 0};
    c.seqlens_k = {600, 480, 30};  // >= 7 blocks of 64, so 7 splits are not clamped
    c.num_splits = splits;
    c.sinks = splits % 2 == 1;
    c.causal = splits >= 3;
    c.page_size = splits == 7 ? 16 : 0;
    expect_matches_reference(c);
  }
}

// Runs the backend directly with a forced split count and pack_gqa (no
// clamping by dispatch), returning out and lse as floats.
struct Outputs {
  std::vector<float> out, lse;
};
Outputs run_backend(const Problem& pr, int num_splits, int pack_gqa) {
  VarlenArgs a = pr.args();
  a.path = KernelPath::Cpu;
  detail::Plan plan = detail::validate_varlen_args(a, nullptr);
  plan.params.num_splits = num_splits;
  plan.params.pack_gqa = pack_gqa;
  detail::bind_out(plan, a.out);
  detail::bind_lse(plan, a.softmax_lse);
  cpu::run_attention(plan);
  Outputs o;
  for (int64_t i = 0; i < pr.out.numel(); ++i) o.out.push_back(pr.out.get(i));
  for (int64_t i = 0; i < pr.lse.numel(); ++i) o.lse.push_back(pr.lse.get(i));
  return o;
}

// Each split count (and pack_gqa 0/1) gives the no-split result within
// float rounding (out is fp32 here), and leaves padding rows unwritten.
void expect_splits_equal_no_split(const ProblemConfig& c, std::initializer_list<int> split_counts) {
  Problem pr = make_problem(c);
  const Outputs base = run_backend(pr, 1, 0);
  for (int splits : split_counts) {
    for (int pack : {0, 1}) {
      SCOPED_TRACE("splits=" + std::to_string(splits) + " pack_gqa=" + std::to_string(pack));
      pr.poison();
      const Outputs s = run_backend(pr, splits, pack);
      ASSERT_EQ(s.out.size(), base.out.size());
      for (size_t i = 0; i < base.out.size(); ++i) {
        if (std::isnan(base.out[i])) {  // padding rows: never written by either
          EXPECT_TRUE(std::isnan(s.out[i])) << "out[" << i << "] written";
          continue;
        }
        ASSERT_NEAR(s.out[i], base.out[i], 1e-5f + 1e-5f * std::fabs(base.out[i])) << "out[" << i << "]";
      }
      for (size_t i = 0; i < base.lse.size(); ++i) {
        if (std::isnan(base.lse[i])) {
          EXPECT_TRUE(std::isnan(s.lse[i])) << "lse[" << i << "] written";
        } else {
          ASSERT_NEAR(s.lse[i], base.lse[i], 1e-4f) << "lse[" << i << "]";
        }
      }
    }
  }
}

TEST(CpuSplits, EqualToNoSplitWithinRounding) {
  ProblemConfig c = small(DType::f32, 64, 64, 950);
  c.batch = 3;
  c.h = 4;
  c.h_k = 2;
  c.seqlens_q = {3, 70, 0};
  c.seqlens_k = {300, 200, 5};
  c.causal = true;
  c.window_left = 150;
  c.sinks = true;
  c.seqused_q = true;
  expect_splits_equal_no_split(c, {2, 3, 7, 16});  // 16 > key blocks: some splits are empty
}

TEST(CpuSplits, ManyWavesOfPartials) {
  // 128 splits x dv 512 partials exceed the workspace budget for 600 rows,
  // so the tasks run in several waves.
  ProblemConfig c = small(DType::f32, 32, 512, 960);
  c.batch = 1;
  c.h = 2;
  c.h_k = 1;
  c.seqlens_q = {600};
  c.seqlens_k = {700};
  c.causal = true;
  expect_splits_equal_no_split(c, {128});
}

// ---- combinations: random feature mixes

TEST(CpuCombinations, RandomFeatureMixes) {
  std::mt19937_64 rng(12345);
  auto pick = [&](int n) { return int(rng() % uint64_t(n)); };
  const DType dtypes[] = {DType::f32, DType::f16, DType::bf16, DType::fp8_e4m3};
  const int ratios[] = {1, 2, 4, 8};
  const int pages[] = {0, 0, 1, 3, 16, 64};
  for (int n = 0; n < 40; ++n) {
    ProblemConfig c;
    c.dtype = dtypes[pick(4)];
    c.batch = 1 + pick(4);
    c.h_k = 1 + pick(2);
    c.h = c.h_k * ratios[pick(4)];
    c.d = 8 * (1 + pick(32));
    c.dv = pick(3) == 0 ? 8 * (1 + pick(32)) : c.d;
    c.max_len = 1 + pick(150);
    c.varlen = pick(4) != 0;
    c.page_size = c.varlen ? pages[pick(6)] : 0;
    c.seqused_q = pick(4) == 0;
    c.seqused_k = pick(4) == 0;
    c.causal = pick(2) == 0;
    c.window_left = pick(3) == 0 ? pick(40) : -1;
    c.window_right = pick(3) == 0 ? pick(40) : -1;
    if (c.window_left < 0 && c.window_right < 0 && pick(3) == 0) c.attention_chunk = 1 + pick(64);
    c.softcap = pick(4) == 0 ? 4.f : 0.f;
    c.sinks = pick(3) == 0;
    c.sinks_dtype = pick(2) ? DType::f32 : DType::bf16;
    c.qv = c.dtype != DType::fp8_e4m3 && pick(6) == 0;
    c.descale = c.dtype == DType::fp8_e4m3 && pick(2) == 0;
    c.num_splits = 1 + pick(4);
    c.return_lse = pick(4) != 0;
    c.seed = 2000 + uint64_t(n);
    expect_matches_reference(c, pick(3) - 1);
  }
}

// ---- the thread pool

TEST(CpuThreadPool, RunsEveryIndexOnce) {
  cpu::ThreadPool pool(4);
  EXPECT_EQ(pool.threads(), 4);
  for (int64_t n : {0, 1, 2, 3, 1000}) {
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    pool.parallel_for(n, [&](int64_t i) { hits[size_t(i)].fetch_add(1); });
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(hits[size_t(i)].load(), 1) << "index " << i << " of " << n;
  }
}

TEST(CpuThreadPool, RethrowsAndStaysUsable) {
  cpu::ThreadPool pool(3);
  EXPECT_THROW(pool.parallel_for(100,
                                 [](int64_t i) {
                                   if (i == 37) throw std::runtime_error("item 37");
                                 }),
               std::runtime_error);
  std::atomic<int64_t> sum{0};
  pool.parallel_for(100, [&](int64_t i) { sum += i; });
  EXPECT_EQ(sum.load(), 4950);
}

TEST(CpuThreadPool, NestedLoopRunsInline) {
  cpu::ThreadPool pool(3);
  std::atomic<int> inner{0};
  pool.parallel_for(8, [&](int64_t) { pool.parallel_for(5, [&](int64_t) { inner.fetch_add(1); }); });
  EXPECT_EQ(inner.load(), 40);
}

TEST(CpuThreadPool, ConcurrentCallersGetCorrectResults) {
  // A second caller finds the pool busy and runs inline; both must be right.
  std::vector<std::thread> callers;
  for (int t = 0; t < 3; ++t)
    callers.emplace_back([t] {
      ProblemConfig c = small(DType::bf16, 64, 64, uint64_t(1500 + t));
      c.max_len = 100;
      c.causal = t == 1;
      c.num_splits = 1 + t;
      expect_matches_reference(c);
    });
  for (auto& c : callers) c.join();
}

TEST(CpuThreadPool, NumThreadsFromEnvironment) {
  const char* old = std::getenv("FA3JIT_NUM_THREADS");
  const std::string saved = old ? old : "";
  setenv("FA3JIT_NUM_THREADS", "3", 1);
  EXPECT_EQ(cpu::num_threads(), 3);
  for (const char* bad : {"0", "-2", "abc", "4x"}) {
    setenv("FA3JIT_NUM_THREADS", bad, 1);
    try {
      cpu::num_threads();
      ADD_FAILURE() << "FA3JIT_NUM_THREADS=" << bad << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("FA3JIT_NUM_THREADS"), std::string::npos) << e.what();
    }
  }
  if (old) setenv("FA3JIT_NUM_THREADS", saved.c_str(), 1);
  else unsetenv("FA3JIT_NUM_THREADS");
  EXPECT_GE(cpu::num_threads(), 1);
}

// ---- the backend's own checks

TEST(CpuBackendErrors, UnboundOutAndUnresolvedSplits) {
  const Problem pr = make_problem(small(DType::bf16, 64, 64, 990));
  VarlenArgs a = pr.args();
  a.path = KernelPath::Cpu;
  detail::Plan plan = detail::validate_varlen_args(a, nullptr);
  plan.params.num_splits = 1;
  plan.params.out = nullptr;
  try {
    cpu::run_attention(plan);
    ADD_FAILURE() << "ran without out";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("out"), std::string::npos) << e.what();
  }
  detail::bind_out(plan, a.out);
  plan.params.num_splits = 0;
  try {
    cpu::run_attention(plan);
    ADD_FAILURE() << "ran with num_splits 0";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("num_splits"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace fa3jit::testing
