#include "testing/kvcache_problem.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "fa3jit/error.h"

namespace fa3jit::testing {
namespace {

int sum(const std::vector<int>& v) { return std::accumulate(v.begin(), v.end(), 0); }
int at_or(const std::vector<int>& v, size_t i, int fallback) { return i < v.size() ? v[i] : fallback; }

HostTensor offsets(const std::vector<int>& lens) {
  std::vector<int32_t> cu(lens.size() + 1, 0);
  for (size_t b = 0; b < lens.size(); ++b) cu[b + 1] = cu[b] + lens[b];
  return HostTensor::from_ints(cu);
}

int max_pages(const KvcacheConfig& c) { return (c.s_cache + c.page_size - 1) / c.page_size; }

// Element offset of (cache row or sequence b, position pos, head hk, dim e).
int64_t cache_index(const KvcacheProblem& p, int b, int pos, int hk, int e, int dim) {
  const KvcacheConfig& c = p.cfg;
  int64_t row;
  if (c.page_size > 0) {
    const int page = p.page_table.as<int32_t>()[b * max_pages(c) + pos / c.page_size];
    row = int64_t(page) * c.page_size + pos % c.page_size;
  } else {
    const int cb = c.cache_batch_idx ? p.cache_batch_idx.as<int32_t>()[b] : b;
    row = int64_t(cb) * c.s_cache + pos;
  }
  return (row * c.h_k + hk) * dim + e;
}

// One head vector rotated by the angles of cos / sin row pos (plain loops,
// float products rounded before the sum, as the library's contract says).
std::vector<float> rotate(const KvcacheProblem& p, std::vector<float> x, int pos) {
  const int rd = p.cfg.rotary_dim, half = rd / 2;
  const std::vector<float> in = x;
  for (int i = 0; i < half; ++i) {
    const float c = p.rotary_cos.get(int64_t(pos) * half + i), s = p.rotary_sin.get(int64_t(pos) * half + i);
    const int i0 = p.cfg.rotary_interleaved ? 2 * i : i, i1 = p.cfg.rotary_interleaved ? 2 * i + 1 : i + half;
    const float a0 = in[i0] * c, b0 = in[i1] * s, a1 = in[i0] * s, b1 = in[i1] * c;
    x[i0] = a0 - b0;
    x[i1] = a1 + b1;
  }
  return x;
}

std::vector<float> load(const HostTensor& t, int64_t first, int n) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int e = 0; e < n; ++e) v[size_t(e)] = t.get(first + e);
  return v;
}
void store(HostTensor& t, int64_t first, const std::vector<float>& v) {
  for (size_t e = 0; e < v.size(); ++e) t.set(first + int64_t(e), v[e]);
}

}  // namespace

KvcacheArgs KvcacheProblem::args() const {
  KvcacheArgs a;
  a.q = q.view();
  a.k_cache = k_cache.view();
  a.v_cache = v_cache.view();
  a.k = k.view();
  a.v = v.view();
  a.rotary_cos = rotary_cos.view();
  a.rotary_sin = rotary_sin.view();
  if (cfg.seqlens_scalar)
    a.cache_seqlens = int64_t(cfg.cache_seqlens.at(0));
  else
    a.cache_seqlens = cache_seqlens.view();
  a.cache_batch_idx = cache_batch_idx.view();
  a.cache_leftpad = cache_leftpad.view();
  a.page_table = page_table.view();
  a.cu_seqlens_q = cu_seqlens_q.view();
  a.cu_seqlens_k_new = cu_seqlens_k_new.view();
  a.rotary_seqlens = rotary_seqlens.view();
  a.causal = cfg.causal;
  a.window_size = {cfg.window_left, cfg.window_right};
  a.softcap = cfg.softcap;
  a.rotary_interleaved = cfg.rotary_interleaved;
  a.num_splits = cfg.num_splits;
  a.return_softmax_lse = cfg.return_lse;
  a.out = out.view();
  a.softmax_lse = lse.view();
  return a;
}

KvcacheProblem make_kvcache_problem(const KvcacheConfig& cfg) {
  KvcacheProblem p;
  p.cfg = cfg;
  KvcacheConfig& c = p.cfg;
  if (int(c.cache_seqlens.size()) != c.batch)
    throw Error(ErrorKind::InvalidValue, "KvcacheConfig.cache_seqlens must have `batch` entries");
  std::mt19937_64 rng(c.seed);
  const int64_t B = c.batch;

  // q
  if (c.q_lens.empty()) c.q_lens.assign(size_t(B), 1);
  if (c.varlen_q) {
    p.q = HostTensor(c.dtype, {sum(c.q_lens), c.h, c.d});
    p.cu_seqlens_q = offsets(c.q_lens);
  } else {
    p.q = HostTensor(c.dtype, {B, c.q_lens[0], c.h, c.d});
  }
  p.q.fill_normal(rng);

  // caches
  const int rows = c.cache_batch_idx ? c.batch + c.extra_cache_rows : c.batch;
  if (c.page_size > 0) {
    const int mp = max_pages(c), pool = c.batch * mp + 3;
    std::vector<int32_t> ids(static_cast<size_t>(pool));
    std::iota(ids.begin(), ids.end(), 0);
    std::shuffle(ids.begin(), ids.end(), rng);
    ids.resize(size_t(B * mp));
    p.page_table = [&] {
      HostTensor t(DType::i32, {B, mp});
      std::copy(ids.begin(), ids.end(), t.as<int32_t>());
      return t;
    }();
    p.k_cache = HostTensor(c.dtype, {pool, c.page_size, c.h_k, c.d});
    p.v_cache = HostTensor(c.dtype, {pool, c.page_size, c.h_k, c.dv});
  } else {
    p.k_cache = HostTensor(c.dtype, {rows, c.s_cache, c.h_k, c.d});
    p.v_cache = HostTensor(c.dtype, {rows, c.s_cache, c.h_k, c.dv});
  }
  p.k_cache.fill_normal(rng);
  p.v_cache.fill_normal(rng);
  if (c.cache_batch_idx) {
    std::vector<int32_t> idx(static_cast<size_t>(rows));
    std::iota(idx.begin(), idx.end(), 0);
    std::shuffle(idx.begin(), idx.end(), rng);
    idx.resize(size_t(B));
    p.cache_batch_idx = HostTensor::from_ints(idx);
  }
  p.cache_seqlens = HostTensor::from_ints(std::vector<int32_t>(c.cache_seqlens.begin(), c.cache_seqlens.end()));
  if (!c.leftpad.empty()) p.cache_leftpad = HostTensor::from_ints({c.leftpad.begin(), c.leftpad.end()});

  // new tokens
  if (!c.new_lens.empty()) {
    if (c.varlen_new) {
      p.k = HostTensor(c.dtype, {sum(c.new_lens), c.h_k, c.d});
      p.v = HostTensor(c.dtype, {sum(c.new_lens), c.h_k, c.dv});
      p.cu_seqlens_k_new = offsets(c.new_lens);
    } else {
      p.k = HostTensor(c.dtype, {B, c.new_lens[0], c.h_k, c.d});
      p.v = HostTensor(c.dtype, {B, c.new_lens[0], c.h_k, c.dv});
    }
    p.k.fill_normal(rng);
    p.v.fill_normal(rng);
  }

  // rotary: the usual inverse-frequency angles, rounded to the dtype
  if (c.rotary_dim > 0) {
    const int seqlen_ro = c.s_cache + 16, half = c.rotary_dim / 2;
    p.rotary_cos = HostTensor(c.dtype, {seqlen_ro, half});
    p.rotary_sin = HostTensor(c.dtype, {seqlen_ro, half});
    for (int pos = 0; pos < seqlen_ro; ++pos)
      for (int i = 0; i < half; ++i) {
        const double angle = pos * std::pow(10000.0, -2.0 * i / c.rotary_dim);
        p.rotary_cos.set(int64_t(pos) * half + i, float(std::cos(angle)));
        p.rotary_sin.set(int64_t(pos) * half + i, float(std::sin(angle)));
      }
    if (!c.rotary_seqlens.empty())
      p.rotary_seqlens = HostTensor::from_ints({c.rotary_seqlens.begin(), c.rotary_seqlens.end()});
  }

  const DType out_dtype = c.dtype == DType::fp8_e4m3 ? DType::bf16 : c.dtype;
  std::vector<int64_t> out_shape = p.q.shape();
  out_shape.back() = c.dv;
  p.out = HostTensor(out_dtype, out_shape);
  p.out.fill_bytes(0xFF);
  if (c.return_lse) {
    p.lse = c.varlen_q ? HostTensor(DType::f32, {c.h, sum(c.q_lens)}) : HostTensor(DType::f32, {B, c.h, c.q_lens[0]});
    p.lse.fill_bytes(0xFF);
  }
  return p;
}

KvcacheExpected expected_kvcache(const KvcacheProblem& p) {
  const KvcacheConfig& c = p.cfg;
  KvcacheExpected x;
  x.k_cache = p.k_cache;
  x.v_cache = p.v_cache;
  const bool rotary = c.rotary_dim > 0;
  const bool q_per_row = c.causal || c.window_left >= 0 || c.window_right >= 0;

  // The append: token j of sequence b at position cache_seqlens[b] + j.
  int new_row = 0;
  for (int b = 0; b < c.batch; ++b) {
    const int cached = c.cache_seqlens[size_t(b)], base = rotary ? at_or(c.rotary_seqlens, size_t(b), cached) : 0;
    const int fresh = c.new_lens.empty() ? 0 : (c.varlen_new ? c.new_lens[size_t(b)] : c.new_lens[0]);
    for (int j = 0; j < fresh; ++j, ++new_row)
      for (int hk = 0; hk < c.h_k; ++hk) {
        const int64_t src_row = c.varlen_new ? new_row : int64_t(b) * c.new_lens[0] + j;
        std::vector<float> kx = load(p.k, (src_row * c.h_k + hk) * c.d, c.d);
        if (rotary) kx = rotate(p, kx, base + j);
        store(x.k_cache, cache_index(p, b, cached + j, hk, 0, c.d), kx);
        store(x.v_cache, cache_index(p, b, cached + j, hk, 0, c.dv), load(p.v, (src_row * c.h_k + hk) * c.dv, c.dv));
      }
  }

  // The attention: rotated q; keys [leftpad, cache_seqlens + new) packed.
  Problem& a = x.attention;
  ProblemConfig& pc = a.cfg;
  pc.dtype = c.dtype;
  pc.batch = c.batch;
  pc.h = c.h, pc.h_k = c.h_k, pc.d = c.d, pc.dv = c.dv;
  pc.varlen = c.varlen_q;
  pc.causal = c.causal;
  pc.window_left = c.window_left, pc.window_right = c.window_right;
  pc.softcap = c.softcap;
  pc.return_lse = c.return_lse;
  pc.num_splits = 1;
  a.q = p.q;
  a.cu_seqlens_q = p.cu_seqlens_q;
  if (rotary) {
    int64_t row = 0;
    for (int b = 0; b < c.batch; ++b) {
      const int base = at_or(c.rotary_seqlens, size_t(b), c.cache_seqlens[size_t(b)]);
      const int n = c.varlen_q ? c.q_lens[size_t(b)] : c.q_lens[0];
      for (int i = 0; i < n; ++i, ++row)
        for (int hh = 0; hh < c.h; ++hh)
          store(a.q, (row * c.h + hh) * c.d,
                rotate(p, load(p.q, (row * c.h + hh) * c.d, c.d), base + (q_per_row ? i : 0)));
    }
  }
  std::vector<int> key_lens(size_t(c.batch));
  for (int b = 0; b < c.batch; ++b) {
    const int fresh = c.new_lens.empty() ? 0 : (c.varlen_new ? c.new_lens[size_t(b)] : c.new_lens[0]);
    key_lens[size_t(b)] = c.cache_seqlens[size_t(b)] + fresh - at_or(c.leftpad, size_t(b), 0);
  }
  a.k = HostTensor(c.dtype, {sum(key_lens), c.h_k, c.d});
  a.v = HostTensor(c.dtype, {sum(key_lens), c.h_k, c.dv});
  a.cu_seqlens_k = offsets(key_lens);
  int64_t row = 0;
  for (int b = 0; b < c.batch; ++b)
    for (int t = 0; t < key_lens[size_t(b)]; ++t, ++row)
      for (int hk = 0; hk < c.h_k; ++hk) {
        const int pos = at_or(c.leftpad, size_t(b), 0) + t;
        store(a.k, (row * c.h_k + hk) * c.d, load(x.k_cache, cache_index(p, b, pos, hk, 0, c.d), c.d));
        store(a.v, (row * c.h_k + hk) * c.dv, load(x.v_cache, cache_index(p, b, pos, hk, 0, c.dv), c.dv));
      }
  a.max_seqlen_q = c.varlen_q ? *std::max_element(c.q_lens.begin(), c.q_lens.end()) : c.q_lens[0];
  a.max_seqlen_k = *std::max_element(key_lens.begin(), key_lens.end());
  return x;
}

}  // namespace fa3jit::testing
