// The float64 oracle (and its float32 "plain" twin that sets tolerances):
// for every query row, score every visible key, softmax (with the sink in
// the denominator), then P.V. Plain loops over the user-level semantics.
#include "reference/reference.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <thread>

#include "common/dtype_convert.h"
#include "reference/reference_layout.h"

namespace fa3jit::reference {
namespace {

using detail::Layout;
using detail::Sequence;

int64_t floor_div(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// Whether query i (of sq real queries) sees key j (of sk real keys). Masks
// are aligned bottom-right: query i sits at key coordinate c = i + sk - sq.
bool key_visible(const VarlenArgs& a, int64_t i, int64_t j, int64_t sq, int64_t sk) {
  if (j < 0 || j >= sk) return false;
  const int64_t c = i + sk - sq;
  const int left = a.window_size[0];
  const int right = a.causal ? 0 : a.window_size[1];
  if (left >= 0 && j < c - left) return false;
  if (right >= 0 && j > c + right) return false;
  if (a.attention_chunk > 0) {
    const int64_t start = floor_div(c, a.attention_chunk) * a.attention_chunk;
    if (j < start || j >= start + a.attention_chunk) return false;
  }
  return true;
}

// How Plain rounds: P (times p_scale) to p_dtype before P.V, out to out_dtype.
struct Rounding {
  bool enabled = false;
  DType p_dtype = DType::f32;
  float p_scale = 1.f;
  DType out_dtype = DType::f32;
};

// Computes every row of (sequence b, query head hh) in precision T.
template <class T>
void attend_head(const VarlenArgs& a, const Layout& L, int b, int hh, const Rounding& rnd,
                 Result& res) {
  const Sequence s = L.sequence(b);
  const int hk = hh / (L.h / L.h_k);
  const int d = L.d, dv = L.dv;
  const bool use_qk = !a.only_qv;
  const bool use_qv = a.qv.defined();

  // Default scale: 1/sqrt of the score's dot-product length (upstream FA3).
  const int score_dim = a.only_qv ? dv : (use_qv ? d + dv : d);
  const T scale = a.softmax_scale ? T(*a.softmax_scale) : T(1) / std::sqrt(T(score_dim));
  const T q_descale = a.q_descale.defined() ? T(detail::read_2d(a.q_descale, b, hk)) : T(1);
  const T k_descale = a.k_descale.defined() ? T(detail::read_2d(a.k_descale, b, hk)) : T(1);
  const T v_descale = a.v_descale.defined() ? T(detail::read_2d(a.v_descale, b, hk)) : T(1);
  const T score_scale = scale * q_descale * k_descale;
  const bool has_sink = a.sinks.defined();
  const T sink = has_sink ? T(load_as_float(a.sinks.data, a.sinks.dtype, hh * a.sinks.stride[0]))
                          : T(0);

  // This kv-head's keys and values, loaded once.
  const int sk = std::max(s.seqlen_k, 0);
  std::vector<T> K(size_t(sk) * d), V(size_t(sk) * dv);
  for (int t = 0; t < sk; ++t) {
    const int64_t ko = L.k_offset(s, b, t, hk), vo = L.v_offset(s, b, t, hk);
    for (int e = 0; e < d; ++e) K[size_t(t) * d + e] = load_as_float(a.k.data, a.k.dtype, ko + e * L.k_dim_stride());
    for (int e = 0; e < dv; ++e) V[size_t(t) * dv + e] = load_as_float(a.v.data, a.v.dtype, vo + e * L.v_dim_stride());
  }

  std::vector<T> q(static_cast<size_t>(d)), qv(static_cast<size_t>(dv)), acc(static_cast<size_t>(dv));
  std::vector<T> scores(static_cast<size_t>(sk));
  std::vector<int> keys;
  keys.reserve(size_t(sk));
  for (int r = 0; r < s.q_rows; ++r) {
    const int64_t row = L.out_row_index(s, b, r, hh);
    const int64_t lse_at = L.lse_index(s, b, r, hh);
    if (r >= s.seqlen_q) continue;  // padding row: row_real stays 0
    res.row_real[size_t(row)] = 1;

    if (use_qk) {
      const int64_t qo = L.q_offset(s, b, r, hh);
      for (int e = 0; e < d; ++e) q[e] = load_as_float(a.q.data, a.q.dtype, qo + e * L.q_dim_stride());
    }
    if (use_qv) {
      const int64_t qvo = L.qv_offset(s, b, r, hh);
      for (int e = 0; e < dv; ++e) qv[e] = load_as_float(a.qv.data, a.qv.dtype, qvo + e * L.qv_dim_stride());
    }

    keys.clear();
    T max_score = -std::numeric_limits<T>::infinity();
    for (int j = 0; j < sk; ++j) {
      if (!key_visible(a, r, j, s.seqlen_q, sk)) continue;
      T dot = 0;
      if (use_qk) for (int e = 0; e < d; ++e) dot += q[e] * K[size_t(j) * d + e];
      if (use_qv) for (int e = 0; e < dv; ++e) dot += qv[e] * V[size_t(j) * dv + e];
      T sc = score_scale * dot;
      if (a.softcap > 0) sc = T(a.softcap) * std::tanh(sc / T(a.softcap));
      scores[keys.size()] = sc;
      keys.push_back(j);
      max_score = std::max(max_score, sc);
    }

    double* out_row = res.out.data() + row * dv;
    if (keys.empty()) {  // no key: out 0; LSE is the sink's logit, else -inf
      std::fill(out_row, out_row + dv, 0.0);
      res.lse[size_t(lse_at)] = has_sink ? double(sink) : -std::numeric_limits<double>::infinity();
      continue;
    }
    if (has_sink) max_score = std::max(max_score, sink);

    T denom = has_sink ? std::exp(sink - max_score) : T(0);
    std::fill(acc.begin(), acc.end(), T(0));
    for (size_t n = 0; n < keys.size(); ++n) {
      const T p = std::exp(scores[n] - max_score);
      denom += p;
      const T p_used = rnd.enabled ? T(round_to(rnd.p_dtype, float(p) * rnd.p_scale) / rnd.p_scale) : p;
      const T* vrow = &V[size_t(keys[n]) * dv];
      for (int e = 0; e < dv; ++e) acc[e] += p_used * vrow[e];
    }
    for (int e = 0; e < dv; ++e) {
      const T o = acc[e] * v_descale / denom;
      out_row[e] = rnd.enabled ? double(round_to(rnd.out_dtype, float(o))) : double(o);
    }
    res.lse[size_t(lse_at)] = double(max_score + std::log(denom));
  }
}

}  // namespace

Result attention(const VarlenArgs& args, Precision precision) {
  const Layout L(args);
  const int64_t rows = L.q_4d ? int64_t(L.batch) * L.q_rows_total : L.q_rows_total;
  Result res;
  res.out.assign(size_t(rows * L.h * L.dv), 0.0);
  res.lse.assign(size_t(rows * L.h), 0.0);
  res.row_real.assign(size_t(rows * L.h), 0);

  Rounding rnd;
  if (precision != Precision::Float64) {
    const DType in = args.q.dtype;
    const bool p8 = precision == Precision::PlainP8 && in == DType::fp8_e4m3;
    rnd.enabled = true;
    rnd.p_dtype = in == DType::fp8_e4m3 && !p8 ? DType::bf16 : in;
    rnd.p_scale = p8 ? 256.f : 1.f;
    rnd.out_dtype = in == DType::fp8_e4m3 ? DType::bf16 : in;
  }

  // (sequence, head) pairs write disjoint rows: spread them over threads.
  const int items = L.batch * L.h;
  std::atomic<int> next{0};
  auto worker = [&] {
    for (int i = next++; i < items; i = next++) {
      if (precision == Precision::Float64)
        attend_head<double>(args, L, i / L.h, i % L.h, rnd, res);
      else
        attend_head<float>(args, L, i / L.h, i % L.h, rnd, res);
    }
  };
  const int n_threads =
      std::clamp(int(std::thread::hardware_concurrency()), 1, std::max(1, std::min(items, 32)));
  std::vector<std::thread> pool;
  for (int t = 1; t < n_threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  return res;
}

}  // namespace fa3jit::reference
