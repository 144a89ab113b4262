// Makes the float64 oracle trustworthy: small cases computed by hand for
// every feature, equivalences between layouts (paged / 4-D / strided), and
// the random-problem and checking utilities every other test relies on.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>

#include "fa3jit/error.h"
#include "reference/reference.h"
#include "testing/problem.h"

namespace fa3jit {
namespace {

using reference::Precision;
using testing::HostTensor;
using testing::Problem;
using testing::ProblemConfig;

const double kE = std::exp(1.0);
const double kInf = std::numeric_limits<double>::infinity();

// One sequence of sq queries and sk keys in float32 (exact inputs), packed
// (varlen) layout; fill with set_* then call args().
struct Hand {
  int sq, sk, d, dv, h, h_k;
  HostTensor q, k, v, qv, cu_q, cu_k;
  Hand(int sq_, int sk_, int d_, int dv_, int h_ = 1, int h_k_ = 1, DType t = DType::f32)
      : sq(sq_), sk(sk_), d(d_), dv(dv_), h(h_), h_k(h_k_),
        q(t, {sq_, h_, d_}), k(t, {sk_, h_k_, d_}), v(t, {sk_, h_k_, dv_}),
        cu_q(HostTensor::from_ints({0, sq_})), cu_k(HostTensor::from_ints({0, sk_})) {}
  void set_q(int r, int hh, std::vector<float> x) { for (int e = 0; e < d; ++e) q.set((r * h + hh) * d + e, x[e]); }
  void set_k(int t, int hk, std::vector<float> x) { for (int e = 0; e < d; ++e) k.set((t * h_k + hk) * d + e, x[e]); }
  void set_v(int t, int hk, std::vector<float> x) { for (int e = 0; e < dv; ++e) v.set((t * h_k + hk) * dv + e, x[e]); }
  // v_j = j (dv == 1): then out is the mean position of the visible keys
  // when all scores are equal (q = 0).
  void v_is_position() { for (int t = 0; t < sk; ++t) for (int hk = 0; hk < h_k; ++hk) v.set(t * h_k + hk, float(t)); }
  VarlenArgs args() const {
    VarlenArgs a;
    a.q = q.view();
    a.k = k.view();
    a.v = v.view();
    a.qv = qv.view();
    a.cu_seqlens_q = cu_q.view();
    a.cu_seqlens_k = cu_k.view();
    a.max_seqlen_q = sq;
    a.max_seqlen_k = sk;
    return a;
  }
};

double out_at(const reference::Result& r, const Hand& p, int row, int hh = 0, int e = 0) {
  return r.out[size_t((row * p.h + hh) * p.dv + e)];
}
double lse_at(const reference::Result& r, const Hand& p, int row, int hh = 0) {
  return r.lse[size_t(hh * p.sq + row)];
}

// Two keys with scores 1 and 0 (default scale 1/sqrt(4) = 1/2), values 2, -1.
Hand two_keys() {
  Hand p(1, 2, 4, 1);
  p.set_q(0, 0, {2, 0, 0, 0});
  p.set_k(0, 0, {1, 0, 0, 0});
  p.set_k(1, 0, {0, 0, 0, 0});
  p.set_v(0, 0, {2});
  p.set_v(1, 0, {-1});
  return p;
}

TEST(ReferenceOracle, OneQueryTwoKeysSoftmaxWeights) {
  const Hand p = two_keys();
  for (Precision prec : {Precision::Float64, Precision::Plain}) {
    const auto r = reference::attention(p.args(), prec);
    EXPECT_NEAR(out_at(r, p, 0), (2 * kE - 1) / (kE + 1), 1e-6);
    EXPECT_NEAR(lse_at(r, p, 0), std::log(kE + 1), 1e-6);
    EXPECT_EQ(r.row_real[0], 1);
  }
  VarlenArgs a = p.args();
  a.softmax_scale = 2.0f;  // scores 4 and 0
  const auto r = reference::attention(a);
  EXPECT_NEAR(out_at(r, p, 0), (2 * std::exp(4.0) - 1) / (std::exp(4.0) + 1), 1e-12);
}

TEST(ReferenceOracle, CausalIsBottomRightWhenFewerQueries) {
  Hand p(2, 4, 8, 1);  // q = 0: equal scores, out = mean visible position
  p.v_is_position();
  VarlenArgs a = p.args();
  a.causal = true;
  const auto r = reference::attention(a);
  EXPECT_NEAR(out_at(r, p, 0), (0 + 1 + 2) / 3.0, 1e-12);  // sees keys 0..2
  EXPECT_NEAR(out_at(r, p, 1), 1.5, 1e-12);                // sees keys 0..3
  EXPECT_NEAR(lse_at(r, p, 0), std::log(3.0), 1e-12);
  EXPECT_NEAR(lse_at(r, p, 1), std::log(4.0), 1e-12);
}

TEST(ReferenceOracle, CausalIsBottomRightWhenMoreQueries) {
  Hand p(4, 2, 8, 1);
  p.v_is_position();
  VarlenArgs a = p.args();
  a.causal = true;
  const auto r = reference::attention(a);
  for (int row : {0, 1}) {  // key coordinates -2, -1: no key
    EXPECT_EQ(out_at(r, p, row), 0.0);
    EXPECT_EQ(lse_at(r, p, row), -kInf);
    EXPECT_EQ(r.row_real[size_t(row)], 1);  // a real row with no key, not padding
  }
  EXPECT_NEAR(out_at(r, p, 2), 0.0, 1e-12);  // key 0 only
  EXPECT_NEAR(lse_at(r, p, 2), 0.0, 1e-12);
  EXPECT_NEAR(out_at(r, p, 3), 0.5, 1e-12);  // keys 0, 1
}

TEST(ReferenceOracle, SlidingWindow) {
  Hand p(5, 5, 8, 1);
  p.v_is_position();
  VarlenArgs a = p.args();
  a.window_size = {1, 1};
  auto r = reference::attention(a);
  EXPECT_NEAR(out_at(r, p, 0), 0.5, 1e-12);  // keys 0, 1
  EXPECT_NEAR(out_at(r, p, 2), 2.0, 1e-12);  // keys 1..3
  EXPECT_NEAR(out_at(r, p, 4), 3.5, 1e-12);  // keys 3, 4
  EXPECT_NEAR(lse_at(r, p, 2), std::log(3.0), 1e-12);

  a.window_size = {2, -1};  // left only
  r = reference::attention(a);
  EXPECT_NEAR(out_at(r, p, 1), 2.0, 1e-12);   // keys 0..4
  EXPECT_NEAR(out_at(r, p, 4), 3.0, 1e-12);   // keys 2..4

  a.window_size = {1, 3};
  a.causal = true;  // causal forces right = 0: a causal sliding window
  r = reference::attention(a);
  EXPECT_NEAR(out_at(r, p, 3), 2.5, 1e-12);  // keys 2, 3
  EXPECT_NEAR(out_at(r, p, 0), 0.0, 1e-12);  // key 0
}

TEST(ReferenceOracle, AttentionChunkFloorsNegativeCoordinates) {
  Hand p(3, 2, 8, 1);  // key coordinates -1, 0, 1
  p.v_is_position();
  VarlenArgs a = p.args();
  a.attention_chunk = 2;
  auto r = reference::attention(a);
  // Row 0: floor(-1 / 2) * 2 = -2: keys [-2, 0): none (truncation would give [0, 2)).
  EXPECT_EQ(lse_at(r, p, 0), -kInf);
  EXPECT_EQ(out_at(r, p, 0), 0.0);
  EXPECT_NEAR(out_at(r, p, 1), 0.5, 1e-12);  // [0, 2)
  EXPECT_NEAR(out_at(r, p, 2), 0.5, 1e-12);

  Hand s(5, 5, 8, 1);
  s.v_is_position();
  VarlenArgs b = s.args();
  b.attention_chunk = 2;
  r = reference::attention(b);
  EXPECT_NEAR(out_at(r, s, 3), 2.5, 1e-12);  // chunk [2, 4)
  EXPECT_NEAR(out_at(r, s, 4), 4.0, 1e-12);  // chunk [4, 6) cut to key 4
  b.causal = true;  // intersected with causal
  r = reference::attention(b);
  EXPECT_NEAR(out_at(r, s, 2), 2.0, 1e-12);  // [2, 4) and <= 2
}

TEST(ReferenceOracle, SoftcapAppliesTanhToScaledScores) {
  Hand p = two_keys();
  p.set_q(0, 0, {4, 0, 0, 0});  // q.k = 4, scaled by 1/2: scores 2 and 0
  VarlenArgs a = p.args();
  a.softcap = 1.5f;
  const auto r = reference::attention(a);
  const double s0 = 1.5 * std::tanh(2.0 / 1.5);
  EXPECT_NEAR(out_at(r, p, 0), (2 * std::exp(s0) - 1) / (std::exp(s0) + 1), 1e-12);
  EXPECT_NEAR(lse_at(r, p, 0), std::log(std::exp(s0) + 1), 1e-12);
}

TEST(ReferenceOracle, SinksJoinTheDenominator) {
  Hand p = two_keys();
  for (DType sink_type : {DType::f32, DType::bf16}) {
    HostTensor sinks(sink_type, {1});
    sinks.set(0, 0.5f);  // exact in bf16
    VarlenArgs a = p.args();
    a.sinks = sinks.view();
    const auto r = reference::attention(a);
    const double l = kE + 1, sink = std::exp(0.5);
    const double plain_out = (2 * kE - 1) / l;
    EXPECT_NEAR(out_at(r, p, 0), plain_out * l / (l + sink), 1e-12);
    EXPECT_NEAR(lse_at(r, p, 0), std::log(l + sink), 1e-12);
  }
}

TEST(ReferenceOracle, RowWithNoKey) {
  Hand p(1, 0, 8, 2);
  p.set_q(0, 0, {1, 1, 1, 1, 1, 1, 1, 1});
  auto r = reference::attention(p.args());
  EXPECT_EQ(out_at(r, p, 0, 0, 0), 0.0);
  EXPECT_EQ(out_at(r, p, 0, 0, 1), 0.0);
  EXPECT_EQ(lse_at(r, p, 0), -kInf);
  EXPECT_EQ(r.row_real[0], 1);

  HostTensor sinks(DType::f32, {1});
  sinks.set(0, -0.75f);
  VarlenArgs a = p.args();
  a.sinks = sinks.view();
  r = reference::attention(a);
  EXPECT_EQ(out_at(r, p, 0, 0, 1), 0.0);
  EXPECT_EQ(lse_at(r, p, 0), -0.75);
}

TEST(ReferenceOracle, GqaMapsQueryHeadToKvHeadByGroup) {
  Hand p(1, 1, 8, 1, /*h=*/6, /*h_k=*/2);  // groups of 3: heads 0-2 -> 0, 3-5 -> 1
  p.set_v(0, 0, {10});
  p.set_v(0, 1, {20});
  const auto r = reference::attention(p.args());
  for (int hh = 0; hh < 6; ++hh) EXPECT_EQ(out_at(r, p, 0, hh), hh < 3 ? 10.0 : 20.0) << "head " << hh;
}

TEST(ReferenceOracle, QvAddsQvDotV) {
  Hand p(1, 2, 1, 4);
  p.set_q(0, 0, {1});
  p.set_k(0, 0, {1});
  p.set_k(1, 0, {0});
  p.set_v(0, 0, {2, 0, 0, 0});
  p.set_v(1, 0, {-1, 0, 0, 0});
  p.qv = HostTensor(DType::f32, {1, 1, 4});
  p.qv.set(0, 0.5f);
  VarlenArgs a = p.args();
  a.softmax_scale = 1.0f;
  auto r = reference::attention(a);
  // scores: k0: 1 + 0.5*2 = 2; k1: 0 + 0.5*(-1) = -0.5
  const double w0 = std::exp(2.0), w1 = std::exp(-0.5);
  EXPECT_NEAR(out_at(r, p, 0), (2 * w0 - w1) / (w0 + w1), 1e-12);

  a.only_qv = true;
  a.softmax_scale.reset();  // default 1/sqrt(dv) = 1/2: scores 0.5, -0.25
  r = reference::attention(a);
  const double u0 = std::exp(0.5), u1 = std::exp(-0.25);
  EXPECT_NEAR(out_at(r, p, 0), (2 * u0 - u1) / (u0 + u1), 1e-12);
  EXPECT_NEAR(lse_at(r, p, 0), std::log(u0 + u1), 1e-12);
}

TEST(ReferenceOracle, DescalesIndexedByBatchAndKvHead) {
  // Two sequences, h = h_k = 2; descales (b, h_k) differ per entry.
  HostTensor q(DType::f32, {2, 2, 4}), k(DType::f32, {4, 2, 4}), v(DType::f32, {4, 2, 1});
  for (int r = 0; r < 2; ++r) for (int hh = 0; hh < 2; ++hh) q.set((r * 2 + hh) * 4, 2.f);
  for (int t = 0; t < 4; ++t)
    for (int hk = 0; hk < 2; ++hk) {
      k.set((t * 2 + hk) * 4, t % 2 == 0 ? 1.f : 0.f);  // scores 1, 0 per sequence
      v.set(t * 2 + hk, t % 2 == 0 ? 2.f : -1.f);
    }
  HostTensor cu_q = HostTensor::from_ints({0, 1, 2}), cu_k = HostTensor::from_ints({0, 2, 4});
  HostTensor qd(DType::f32, {2, 2}), kd(DType::f32, {2, 2}), vd(DType::f32, {2, 2});
  const float qds[4] = {2, 1, 0.5f, 1}, kds[4] = {1, 3, 1, 0.5f}, vds[4] = {1, 2, 0.5f, 4};
  for (int i = 0; i < 4; ++i) { qd.set(i, qds[i]); kd.set(i, kds[i]); vd.set(i, vds[i]); }
  VarlenArgs a;
  a.q = q.view(); a.k = k.view(); a.v = v.view();
  a.cu_seqlens_q = cu_q.view(); a.cu_seqlens_k = cu_k.view();
  a.max_seqlen_q = 1; a.max_seqlen_k = 2;
  a.q_descale = qd.view(); a.k_descale = kd.view(); a.v_descale = vd.view();
  const auto r = reference::attention(a);
  for (int b = 0; b < 2; ++b)
    for (int hh = 0; hh < 2; ++hh) {
      const int i = b * 2 + hh;
      const double s = qds[i] * kds[i];  // score of key 0 (scale 1/2 * 2 = 1)
      const double want = vds[i] * (2 * std::exp(s) - 1) / (std::exp(s) + 1);
      EXPECT_NEAR(r.out[size_t(b * 2 + hh)], want, 1e-12) << "b " << b << " head " << hh;
      EXPECT_NEAR(r.lse[size_t(hh * 2 + b)], std::log(std::exp(s) + 1), 1e-12);
    }
}

TEST(ReferenceOracle, PaddingRowsPastSequsedQ) {
  Hand p(3, 2, 8, 1);
  p.v_is_position();
  HostTensor used = HostTensor::from_ints({1});
  VarlenArgs a = p.args();
  a.seqused_q = used.view();
  a.causal = true;  // with 1 real query of 2 keys: query 0 sees both
  const auto r = reference::attention(a);
  EXPECT_EQ(r.row_real[0], 1);
  EXPECT_EQ(r.row_real[1], 0);
  EXPECT_EQ(r.row_real[2], 0);
  EXPECT_NEAR(out_at(r, p, 0), 0.5, 1e-12);
}

TEST(ReferenceOracle, SequsedKLimitsKeys) {
  Hand p(1, 4, 8, 1);
  p.v_is_position();
  HostTensor used = HostTensor::from_ints({2});
  VarlenArgs a = p.args();
  a.seqused_k = used.view();
  const auto r = reference::attention(a);
  EXPECT_NEAR(out_at(r, p, 0), 0.5, 1e-12);
  EXPECT_NEAR(lse_at(r, p, 0), std::log(2.0), 1e-12);
}

void expect_same(const reference::Result& x, const reference::Result& y) {
  ASSERT_EQ(x.out.size(), y.out.size());
  ASSERT_EQ(x.row_real, y.row_real);
  for (size_t i = 0; i < x.out.size(); ++i) ASSERT_EQ(x.out[i], y.out[i]) << "out " << i;
  ASSERT_EQ(x.lse.size(), y.lse.size());
  for (size_t i = 0; i < x.lse.size(); ++i) ASSERT_EQ(x.lse[i], y.lse[i]) << "lse " << i;
}

TEST(ReferenceOracle, PagedEqualsContiguousKv) {
  for (int page_size : {1, 3, 16}) {
    ProblemConfig cfg;
    cfg.batch = 3;
    cfg.page_size = page_size;
    cfg.seqused_k = true;
    cfg.causal = true;
    cfg.seed = 7 + uint64_t(page_size);
    const Problem p = make_problem(cfg);
    // Gather the real tokens into packed (total_k, h_k, d) buffers.
    const auto* used = p.seqused_k.as<int32_t>();
    const auto* table = p.page_table.as<int32_t>();
    const int64_t pages_per_seq = p.page_table.shape()[1];
    std::vector<int32_t> cu{0};
    for (int b = 0; b < cfg.batch; ++b) cu.push_back(cu.back() + used[b]);
    HostTensor k(cfg.dtype, {cu.back(), cfg.h_k, cfg.d}), v(cfg.dtype, {cu.back(), cfg.h_k, cfg.dv});
    for (int b = 0; b < cfg.batch; ++b)
      for (int t = 0; t < used[b]; ++t) {
        const int64_t page = table[b * pages_per_seq + t / page_size];
        const int64_t src = page * page_size + t % page_size, dst = cu[size_t(b)] + t;
        for (int64_t e = 0; e < cfg.h_k * cfg.d; ++e) k.set(dst * cfg.h_k * cfg.d + e, p.k.get(src * cfg.h_k * cfg.d + e));
        for (int64_t e = 0; e < cfg.h_k * cfg.dv; ++e) v.set(dst * cfg.h_k * cfg.dv + e, p.v.get(src * cfg.h_k * cfg.dv + e));
      }
    HostTensor cu_k = HostTensor::from_ints(cu);
    VarlenArgs flat = p.args();
    flat.k = k.view();
    flat.v = v.view();
    flat.page_table = Tensor{};
    flat.seqused_k = Tensor{};
    flat.cu_seqlens_k = cu_k.view();
    SCOPED_TRACE("page_size " + std::to_string(page_size));
    expect_same(reference::attention(p.args()), reference::attention(flat));
  }
}

TEST(ReferenceOracle, FixedLengthBatchEqualsVarlen) {
  ProblemConfig cfg;
  cfg.varlen = false;
  cfg.batch = 3;
  cfg.seqlens_q = {5};
  cfg.seqlens_k = {9};
  cfg.window_left = 3;
  cfg.sinks = true;
  const Problem p = make_problem(cfg);
  ASSERT_EQ(p.q.shape().size(), 4u);
  // The same contiguous memory seen as packed (b*s, h, d) sequences.
  auto packed = [](const HostTensor& t) {
    Tensor x = t.view();
    x.ndim = 3;
    x.shape = {t.shape()[0] * t.shape()[1], t.shape()[2], t.shape()[3], 0};
    x.stride = {x.shape[1] * x.shape[2], x.shape[2], 1, 0};
    return x;
  };
  HostTensor cu_q = HostTensor::from_ints({0, 5, 10, 15}), cu_k = HostTensor::from_ints({0, 9, 18, 27});
  VarlenArgs flat = p.args();
  flat.q = packed(p.q);
  flat.k = packed(p.k);
  flat.v = packed(p.v);
  flat.cu_seqlens_q = cu_q.view();
  flat.cu_seqlens_k = cu_k.view();
  const auto r4 = reference::attention(p.args());
  const auto rv = reference::attention(flat);
  ASSERT_EQ(r4.out, rv.out);  // (b, s, h, dv) == (b*s, h, dv) contiguous
  ASSERT_EQ(r4.row_real, rv.row_real);
  for (int b = 0; b < 3; ++b)  // lse (b, h, s) vs (h, b*s)
    for (int hh = 0; hh < cfg.h; ++hh)
      for (int r = 0; r < 5; ++r)
        ASSERT_EQ(r4.lse[size_t((b * cfg.h + hh) * 5 + r)], rv.lse[size_t(hh * 15 + b * 5 + r)]);
}

TEST(ReferenceOracle, HonorsStrides) {
  ProblemConfig cfg;
  cfg.qv = true;
  const Problem p = make_problem(cfg);
  // q stored with each head padded to d + 8 elements, viewed as (total, h, d).
  const int64_t total = p.q.shape()[0];
  HostTensor wide(cfg.dtype, {total, cfg.h, cfg.d + 8});
  wide.fill_bytes(0xFF);  // padding is NaN: reading it would poison the result
  for (int64_t i = 0; i < total * cfg.h; ++i)
    for (int e = 0; e < cfg.d; ++e) wide.set(i * (cfg.d + 8) + e, p.q.get(i * cfg.d + e));
  VarlenArgs a = p.args();
  a.q = wide.view();
  a.q.shape[2] = cfg.d;
  expect_same(reference::attention(p.args()), reference::attention(a));
}

TEST(ReferenceOracle, PlainIsCloseButNotExact) {
  double err[3];
  const DType types[3] = {DType::bf16, DType::f16, DType::fp8_e4m3};
  for (int i = 0; i < 3; ++i) {
    ProblemConfig cfg;
    cfg.dtype = types[i];
    cfg.sinks = true;
    cfg.descale = types[i] == DType::fp8_e4m3;
    const Problem p = make_problem(cfg);
    const auto r64 = reference::attention(p.args(), Precision::Float64);
    const auto rp = reference::attention(p.args(), Precision::Plain);
    double max_out = 0;
    err[i] = 0;
    for (size_t j = 0; j < r64.out.size(); ++j) {
      err[i] = std::max(err[i], std::fabs(r64.out[j] - rp.out[j]));
      max_out = std::max(max_out, std::fabs(r64.out[j]));
    }
    EXPECT_GT(err[i], 0.0) << dtype_name(types[i]);
    EXPECT_LT(err[i], 4 * std::ldexp(1.0, -8) * max_out) << dtype_name(types[i]);
    for (size_t j = 0; j < r64.lse.size(); ++j)
      EXPECT_NEAR(r64.lse[j], rp.lse[j], 1e-4 * std::max(1.0, std::fabs(r64.lse[j])));
  }
  EXPECT_LT(err[1], err[0]);  // fp16 keeps more bits than bf16
}

// Plain rounds the unnormalized P to the input dtype (bf16 for fp8) before
// P.V and out to the output dtype. Values chosen so that out is a small
// difference of two terms, where rounding P is visible.
TEST(ReferenceOracle, PlainRoundsPAndOut) {
  for (DType t : {DType::bf16, DType::fp8_e4m3}) {
    Hand p(1, 2, 4, 1, 1, 1, t);
    p.set_q(0, 0, {2, 0, 0, 0});  // scores 1, 0
    p.set_k(0, 0, {1, 0, 0, 0});
    p.set_v(0, 0, {1});
    p.set_v(1, 0, {-2.71828f});  // ~ -e rounded: out64 ~ 0
    const double v1 = p.v.get(1);
    const float p1 = round_to(DType::bf16, std::exp(-1.f));
    const double want = round_to(DType::bf16, float((1.0 + p1 * v1) / (1.0 + std::exp(-1.0))));
    const double exact = (1.0 + std::exp(-1.0) * v1) / (1.0 + std::exp(-1.0));
    const auto plain = reference::attention(p.args(), Precision::Plain);
    const auto r64 = reference::attention(p.args(), Precision::Float64);
    SCOPED_TRACE(dtype_name(t));
    EXPECT_NEAR(r64.out[0], exact, 1e-12);
    EXPECT_NEAR(plain.out[0], want, 1e-6 * std::fabs(want));
    EXPECT_GT(std::fabs(plain.out[0] - r64.out[0]), 1e-3);
  }
}

// PlainP8 rounds P * 2^8 to e4m3 and back (the sm90 fp8 kernels' P), so
// its error is that of a 3-bit mantissa: larger than Plain's (P in bf16);
// for 16-bit inputs it is Plain.
TEST(ReferenceOracle, PlainP8RoundsPToE4m3) {
  Hand p(1, 2, 4, 1, 1, 1, DType::fp8_e4m3);
  p.set_q(0, 0, {2, 0, 0, 0});  // scores 1, 0
  p.set_k(0, 0, {1, 0, 0, 0});
  p.set_v(0, 0, {1});
  p.set_v(1, 0, {-2.75f});  // an e4m3 value
  const double v1 = p.v.get(1);
  const float p1 = round_to(DType::fp8_e4m3, std::exp(-1.f) * 256.f) / 256.f;  // 96 / 256
  const double want = round_to(DType::bf16, float((1.0 + p1 * v1) / (1.0 + std::exp(-1.0))));
  const auto p8 = reference::attention(p.args(), Precision::PlainP8);
  EXPECT_NEAR(p8.out[0], want, 1e-6 * std::fabs(want) + 1e-7);
  EXPECT_NE(p8.out[0], reference::attention(p.args(), Precision::Plain).out[0]);
  ProblemConfig cfg;  // bf16: the same as Plain
  const Problem q = make_problem(cfg);
  EXPECT_EQ(reference::attention(q.args(), Precision::PlainP8).out, reference::attention(q.args(), Precision::Plain).out);
}

// ---- make_problem

TEST(ReferenceProblem, OutliersAreSetInEachInput) {
  ProblemConfig cfg;
  cfg.dtype = DType::fp8_e4m3;
  cfg.outliers = 3;
  const Problem p = make_problem(cfg);
  for (const HostTensor* t : {&p.q, &p.k, &p.v}) {
    int n = 0;
    for (int64_t i = 0; i < t->numel(); ++i) n += std::fabs(t->get(i)) > 300.f;
    EXPECT_GE(n, 1);
    EXPECT_LE(n, 3);
  }
}

TEST(ReferenceProblem, RandomLengthsAndSeqused) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    ProblemConfig cfg;
    cfg.batch = 4;
    cfg.max_len = 9;
    cfg.seqused_q = cfg.seqused_k = true;
    cfg.seed = seed;
    const Problem p = make_problem(cfg);
    const auto* cq = p.cu_seqlens_q.as<int32_t>();
    const auto* ck = p.cu_seqlens_k.as<int32_t>();
    ASSERT_EQ(cq[0], 0);
    ASSERT_GT(cq[4], 0);
    ASSERT_GT(ck[4], 0);
    ASSERT_EQ(p.q.shape()[0], cq[4]);
    ASSERT_EQ(p.k.shape()[0], ck[4]);
    for (int b = 0; b < 4; ++b) {
      ASSERT_LE(cq[b], cq[b + 1]);
      ASSERT_LE(cq[b + 1] - cq[b], 9);
      ASSERT_LE(p.seqused_q.as<int32_t>()[b], cq[b + 1] - cq[b]);
      ASSERT_LE(p.seqused_k.as<int32_t>()[b], ck[b + 1] - ck[b]);
      ASSERT_GE(p.seqused_q.as<int32_t>()[b], 0);
    }
  }
}

TEST(ReferenceProblem, PagesAreScatteredInALargerPool) {
  ProblemConfig cfg;
  cfg.batch = 4;
  cfg.page_size = 4;
  cfg.seqlens_k = {9, 0, 16, 3};
  const Problem p = make_problem(cfg);
  const int64_t num_pages = p.k.shape()[0];
  ASSERT_EQ(p.k.shape()[1], 4);
  const int needed = 3 + 0 + 4 + 1;
  EXPECT_GT(num_pages, needed);
  ASSERT_EQ(p.page_table.shape()[1], 4);  // max pages per sequence
  std::set<int> used_pages;
  bool in_order = true;
  int prev = -1;
  for (int b = 0; b < 4; ++b)
    for (int i = 0; i < 4; ++i) {
      const int page = p.page_table.as<int32_t>()[b * 4 + i];
      ASSERT_GE(page, 0);
      ASSERT_LT(page, num_pages);  // unused entries are valid ids too
      if (i * 4 < cfg.seqlens_k[size_t(b)]) {
        EXPECT_TRUE(used_pages.insert(page).second) << "page " << page << " used twice";
        in_order = in_order && page == prev + 1;
        prev = page;
      }
    }
  EXPECT_EQ(int(used_pages.size()), needed);
  EXPECT_FALSE(in_order) << "pages should be scattered";
  EXPECT_FALSE(p.cu_seqlens_k.view().defined());  // paged lengths: seqused_k
  for (int b = 0; b < 4; ++b) EXPECT_EQ(p.seqused_k.as<int32_t>()[b], cfg.seqlens_k[size_t(b)]);
}

TEST(ReferenceProblem, BuffersRandomPoisonedAndInRange) {
  ProblemConfig cfg;
  cfg.dtype = DType::fp8_e4m3;
  cfg.descale = true;
  cfg.sinks = true;
  cfg.qv = true;
  const Problem p = make_problem(cfg);
  int nonzero = 0;
  for (int64_t i = 0; i < p.q.numel(); ++i) nonzero += p.q.get(i) != 0.f;
  EXPECT_GT(nonzero, p.q.numel() * 9 / 10);
  EXPECT_EQ(p.out.dtype(), DType::bf16);  // fp8 output is bf16
  for (int64_t i = 0; i < p.out.numel(); ++i) ASSERT_TRUE(std::isnan(p.out.get(i)));
  for (int64_t i = 0; i < p.lse.numel(); ++i) ASSERT_TRUE(std::isnan(p.lse.get(i)));
  for (const HostTensor* t : {&p.q_descale, &p.k_descale, &p.v_descale}) {
    ASSERT_EQ(t->shape(), (std::vector<int64_t>{cfg.batch, cfg.h_k}));
    for (int64_t i = 0; i < t->numel(); ++i) {
      EXPECT_GE(t->get(i), 0.5f);
      EXPECT_LE(t->get(i), 2.f);
    }
  }
  ASSERT_EQ(p.sinks.shape(), std::vector<int64_t>{cfg.h});
  ASSERT_EQ(p.qv.shape()[2], cfg.dv);
  const VarlenArgs a = p.args();
  EXPECT_TRUE(a.qv.defined() && a.sinks.defined() && a.q_descale.defined() && a.out.defined());
  EXPECT_TRUE(a.return_softmax_lse && a.softmax_lse.defined());
  ProblemConfig bad;
  bad.h = 3;  // not a multiple of h_k = 2
  EXPECT_THROW(make_problem(bad), Error);
}

// ---- check_against_reference

// Writes the reference of precision `prec` into the problem's out / lse
// (real rows only, as a kernel would).
void write_reference(Problem& p, Precision prec) {
  const auto r = reference::attention(p.args(), prec);
  const int64_t entries = int64_t(r.row_real.size());
  const bool q_4d = !p.cfg.varlen;
  const int64_t s_q = q_4d ? p.q.shape()[1] : 0, rows = entries / p.cfg.h;
  for (int64_t i = 0; i < entries; ++i) {
    if (!r.row_real[size_t(i)]) continue;
    for (int e = 0; e < p.cfg.dv; ++e) p.out.set(i * p.cfg.dv + e, float(r.out[size_t(i * p.cfg.dv + e)]));
    if (!p.lse.empty()) {
      const int64_t row = i / p.cfg.h, hh = i % p.cfg.h;
      const int64_t at = q_4d ? ((row / s_q) * p.cfg.h + hh) * s_q + row % s_q : hh * rows + row;
      p.lse.set(at, float(r.lse[size_t(at)]));
    }
  }
}

TEST(ReferenceCheck, PlainOutputPassesAcrossFeatures) {
  std::vector<ProblemConfig> cfgs(6);
  cfgs[1].causal = true, cfgs[1].seqused_q = true, cfgs[1].page_size = 5;
  cfgs[2].varlen = false, cfgs[2].window_left = 4, cfgs[2].window_right = 2, cfgs[2].seqused_q = true;
  cfgs[3].dtype = DType::fp8_e4m3, cfgs[3].descale = true, cfgs[3].sinks = true;
  cfgs[4].softcap = 5.f, cfgs[4].attention_chunk = 8, cfgs[4].dtype = DType::f16;
  cfgs[5].qv = true, cfgs[5].dv = 32, cfgs[5].h_k = 1;
  for (size_t i = 0; i < cfgs.size(); ++i) {
    cfgs[i].seed = 100 + i;
    Problem p = make_problem(cfgs[i]);
    write_reference(p, Precision::Plain);
    const auto c = check_against_reference(p, p.out.view(), p.lse.view());
    EXPECT_TRUE(c.ok) << "config " << i << ": " << c.message;
    EXPECT_GT(c.plain_err, 0.0) << "config " << i;
    EXPECT_LE(c.max_err, c.tol);
  }
}

TEST(ReferenceCheck, CatchesWrongValueAndNamesIt) {
  ProblemConfig cfg;
  cfg.seqlens_q = {3, 4};
  cfg.seqlens_k = {5, 6};
  Problem p = make_problem(cfg);
  write_reference(p, Precision::Float64);
  ASSERT_TRUE(check_against_reference(p, p.out.view(), p.lse.view()).ok);
  // Sequence 1, row 2, head 3, dim 7 = packed row 5.
  const int64_t at = ((3 + 2) * cfg.h + 3) * cfg.dv + 7;
  p.out.set(at, p.out.get(at) + 0.25f);
  const auto c = check_against_reference(p, p.out.view(), p.lse.view());
  EXPECT_FALSE(c.ok);
  EXPECT_NE(c.message.find("(b=1, row=2, head=3, dim=7)"), std::string::npos) << c.message;
  p.out.set(at, std::nanf(""));
  EXPECT_NE(check_against_reference(p, p.out.view(), p.lse.view()).message.find("not finite"),
            std::string::npos);
}

TEST(ReferenceCheck, CatchesWrittenPaddingRows) {
  ProblemConfig cfg;
  cfg.seqlens_q = {6, 6};
  cfg.seqused_q = true;
  cfg.seed = 3;
  Problem p = make_problem(cfg);
  write_reference(p, Precision::Float64);
  ASSERT_TRUE(check_against_reference(p, p.out.view(), p.lse.view()).ok);
  const int used0 = p.seqused_q.as<int32_t>()[0];
  ASSERT_LT(used0, 6) << "seed should give a padding row";
  p.out.set(int64_t(used0) * cfg.h * cfg.dv, 0.f);  // padding row of sequence 0
  const auto c = check_against_reference(p, p.out.view(), p.lse.view());
  EXPECT_FALSE(c.ok);
  EXPECT_NE(c.message.find("padding"), std::string::npos) << c.message;
}

TEST(ReferenceCheck, LseToleranceAndMinusInfinity) {
  ProblemConfig cfg;
  cfg.seqlens_q = {4, 3};
  cfg.seqlens_k = {6, 0};  // sequence 1 has no key: LSE -inf
  Problem p = make_problem(cfg);
  write_reference(p, Precision::Float64);
  ASSERT_TRUE(check_against_reference(p, p.out.view(), p.lse.view()).ok);
  const int64_t no_key = 4;  // head 0, packed row 4 (sequence 1)
  ASSERT_TRUE(std::isinf(p.lse.get(no_key)));
  p.lse.set(no_key, -1e30f);
  EXPECT_FALSE(check_against_reference(p, p.out.view(), p.lse.view()).ok);
  p.lse.set(no_key, -std::numeric_limits<float>::infinity());
  p.lse.set(1, p.lse.get(1) + 0.01f);
  const auto c = check_against_reference(p, p.out.view(), p.lse.view());
  EXPECT_FALSE(c.ok);
  EXPECT_NE(c.message.find("softmax_lse(b=0, row=1, head=0)"), std::string::npos) << c.message;
  EXPECT_TRUE(check_against_reference(p, p.out.view(), Tensor{}).ok);  // LSE not checked
}

}  // namespace
}  // namespace fa3jit
