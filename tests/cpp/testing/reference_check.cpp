// check_against_reference: an output (and LSE) against the float64 oracle
// with the upstream FlashAttention tolerance rule.
#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "reference/reference.h"
#include "testing/problem.h"

namespace fa3jit::testing {
namespace {

// Unit roundoff (half an ulp, relative) of the output dtype.
double unit_roundoff(DType t) {
  switch (t) {
    case DType::bf16: return std::ldexp(1.0, -8);
    case DType::f16: return std::ldexp(1.0, -11);
    case DType::fp8_e4m3: return std::ldexp(1.0, -4);
    default: return std::ldexp(1.0, -24);
  }
}

// Names flat output rows as (sequence, row within it) and finds elements of
// out / lse honoring the caller's strides.
struct RowMap {
  const Problem& p;
  bool q_4d;
  int64_t s_q;  // rows per sequence for 4-D q
  int h;

  void seq_row(int64_t row, int64_t& b, int64_t& r) const {
    if (q_4d) { b = row / s_q; r = row % s_q; return; }
    const auto* cu = p.cu_seqlens_q.as<int32_t>();
    b = 0;
    while (b + 1 < p.cu_seqlens_q.numel() - 1 && cu[b + 1] <= row) ++b;
    r = row - cu[b];
  }
  std::string where(int64_t row, int hh, int e = -1) const {
    int64_t b, r;
    seq_row(row, b, r);
    std::ostringstream s;
    s << "(b=" << b << ", row=" << r << ", head=" << hh;
    if (e >= 0) s << ", dim=" << e;
    s << ")";
    return s.str();
  }
  int64_t out_offset(const Tensor& t, int64_t row, int hh, int e) const {
    if (q_4d) return (row / s_q) * t.stride[0] + (row % s_q) * t.stride[1] + hh * t.stride[2] + e * t.stride[3];
    return row * t.stride[0] + hh * t.stride[1] + e * t.stride[2];
  }
  int64_t lse_offset(const Tensor& t, int64_t row, int hh) const {
    if (q_4d) return (row / s_q) * t.stride[0] + hh * t.stride[1] + (row % s_q) * t.stride[2];
    return hh * t.stride[0] + row * t.stride[1];
  }
  int64_t ref_lse_index(int64_t row, int hh, int64_t rows) const {
    if (q_4d) return ((row / s_q) * h + hh) * s_q + row % s_q;
    return hh * rows + row;
  }
};

bool shape_is(const Tensor& t, const std::vector<int64_t>& want) {
  if (t.ndim != int(want.size())) return false;
  for (int i = 0; i < t.ndim; ++i)
    if (t.shape[i] != want[size_t(i)]) return false;
  return true;
}

bool is_poison(const Tensor& t, int64_t offset) {
  const auto* bytes = static_cast<const uint8_t*>(t.data) + offset * int64_t(dtype_size(t.dtype));
  return std::all_of(bytes, bytes + dtype_size(t.dtype), [](uint8_t x) { return x == 0xFF; });
}

}  // namespace

CheckResult check_against_reference(const Problem& problem, const Tensor& out, const Tensor& lse) {
  const ProblemConfig& c = problem.cfg;
  const VarlenArgs args = problem.args();
  const reference::Result ref = reference::attention(args, reference::Precision::Float64);
  const reference::Result plain =
      reference::attention(args, c.p_e4m3 ? reference::Precision::PlainP8 : reference::Precision::Plain);

  const bool q_4d = !c.varlen;
  const RowMap map{problem, q_4d, q_4d ? problem.q.shape()[1] : 0, c.h};
  const int dv = c.dv;
  const int64_t entries = int64_t(ref.row_real.size());  // (row, head) pairs
  const int64_t rows = entries / c.h;
  const DType out_dtype = c.dtype == DType::fp8_e4m3 ? DType::bf16 : c.dtype;

  CheckResult res;
  auto fail = [&](const std::string& why) {
    res.ok = false;
    res.message = why;
    return res;
  };
  std::vector<int64_t> out_shape = problem.q.shape();
  out_shape.back() = dv;
  if (!shape_is(out, out_shape) || out.dtype != out_dtype)
    return fail("out has shape " + shape_string(out) + " " + dtype_name(out.dtype) +
                ", expected the shape of q with the last dim dv, dtype " + dtype_name(out_dtype));

  // Tolerance (the upstream FA3 rule): factor x the plain computation's
  // error plus atol. atol = 2 x the output dtype's rounding error at the
  // output's magnitude: upstream uses 2*max|(ref + 0.3 - 0.3) - ref| in the
  // output dtype, which is at most 2 * u * (max|ref| + 0.3).
  const double factor = c.dtype == DType::fp8_e4m3 ? 4.0 : (c.softcap > 0 ? 3.0 : 2.0);
  double ref_max = 0;
  for (int64_t i = 0; i < entries; ++i) {
    if (!ref.row_real[size_t(i)]) continue;
    for (int e = 0; e < dv; ++e) {
      const size_t at = size_t(i * dv + e);
      ref_max = std::max(ref_max, std::fabs(ref.out[at]));
      res.plain_err = std::max(res.plain_err, std::fabs(plain.out[at] - ref.out[at]));
    }
  }
  const double atol = 2.0 * unit_roundoff(out_dtype) * (ref_max + 0.3);
  res.tol = factor * res.plain_err + atol;

  // Real rows: finite and within tolerance. Padding rows: still poison when
  // `out` is the problem's poisoned buffer (else we cannot know what was there).
  const bool out_poisoned = !problem.out.empty() && out.data == problem.out.data();
  std::string first_bad;
  int64_t n_bad = 0;
  for (int64_t i = 0; i < entries; ++i) {
    const int64_t row = i / c.h;
    const int hh = int(i % c.h);
    for (int e = 0; e < dv; ++e) {
      const int64_t off = map.out_offset(out, row, hh, e);
      if (!ref.row_real[size_t(i)]) {
        if (out_poisoned && !is_poison(out, off))
          return fail("out" + map.where(row, hh, e) +
                      " is a padding row (past seqused_q) but was written: " +
                      std::to_string(load_as_float(out.data, out.dtype, off)));
        continue;
      }
      const double got = load_as_float(out.data, out.dtype, off);
      const double want = ref.out[size_t(i * dv + e)];
      if (!std::isfinite(got))
        return fail("out" + map.where(row, hh, e) + " is " + std::to_string(got) +
                    " (not finite; unwritten rows hold NaN poison), reference " + std::to_string(want));
      const double err = std::fabs(got - want);
      res.max_err = std::max(res.max_err, err);
      if (err > res.tol && n_bad++ == 0) {
        std::ostringstream s;
        s << "out" << map.where(row, hh, e) << " = " << got << ", reference " << want;
        first_bad = s.str();
      }
    }
  }
  if (n_bad > 0) {
    std::ostringstream s;
    s << first_bad << ": " << n_bad << " elements off; max_err " << res.max_err << " > tol "
      << res.tol << " = " << factor << " x plain_err " << res.plain_err << " + atol " << atol;
    return fail(s.str());
  }

  if (lse.defined()) {
    std::vector<int64_t> lse_shape = q_4d ? std::vector<int64_t>{c.batch, c.h, map.s_q}
                                          : std::vector<int64_t>{c.h, rows};
    if (!shape_is(lse, lse_shape) || lse.dtype != DType::f32)
      return fail("softmax_lse has shape " + shape_string(lse) + " " + dtype_name(lse.dtype) +
                  ", expected float32 (h, total_q) for varlen q or (b, h, s_q) for 4-D q");
    // The LSE is fp32 computed from exactly loaded inputs, so the input
    // dtype does not round it; its error is fp32 accumulation and the
    // GPU's approximate exp2/log2 (~2^-22 relative), far below 1e-3. fp8 and
    // softcap (tanh.approx, ~2^-11 relative) get the same extra factor as out.
    const double lse_rel = 1e-3 * (c.dtype == DType::fp8_e4m3 ? 4.0 : 1.0) * (c.softcap > 0 ? 3.0 : 1.0);
    const bool lse_poisoned = !problem.lse.empty() && lse.data == problem.lse.data();
    for (int64_t i = 0; i < entries; ++i) {
      const int64_t row = i / c.h;
      const int hh = int(i % c.h);
      const int64_t off = map.lse_offset(lse, row, hh);
      const double got = static_cast<const float*>(lse.data)[off];
      if (!ref.row_real[size_t(i)]) {
        if (lse_poisoned && !is_poison(lse, off))
          return fail("softmax_lse" + map.where(row, hh) +
                      " is a padding row (past seqused_q) but was written: " + std::to_string(got));
        continue;
      }
      const double want = ref.lse[size_t(map.ref_lse_index(row, hh, rows))];
      std::ostringstream s;
      s << "softmax_lse" << map.where(row, hh) << " = " << got << ", reference " << want;
      if (std::isinf(want) && want < 0) {
        if (!(std::isinf(got) && got < 0)) return fail(s.str() + " (a row with no key must be -inf)");
        continue;
      }
      const double err = std::fabs(got - want);
      if (!(err <= lse_rel * std::max(1.0, std::fabs(want)))) {
        s << " (|err| " << err << " > " << lse_rel << " x max(1, |ref|))";
        return fail(s.str());
      }
      res.lse_max_err = std::max(res.lse_max_err, err);
    }
  }
  res.ok = true;
  return res;
}

}  // namespace fa3jit::testing
