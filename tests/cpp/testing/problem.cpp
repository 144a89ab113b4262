// make_problem: host buffers for every argument of a random attention
// problem, with the layouts that catch addressing bugs (scattered pages,
// random lengths incl. empty ones, poisoned outputs).
#include "testing/problem.h"

#include <algorithm>
#include <numeric>

#include "fa3jit/error.h"

namespace fa3jit::testing {
namespace {

DType out_dtype_of(DType in) { return in == DType::fp8_e4m3 ? DType::bf16 : in; }

// Per-sequence lengths: the given ones, else random in [0, max_len] with at
// least one nonzero (so the problem is never empty by accident).
std::vector<int> draw_lengths(const std::vector<int>& given, const ProblemConfig& cfg,
                              std::mt19937_64& rng, const char* name) {
  if (!cfg.varlen) {  // 4-D: every sequence has the same length
    const int len = given.empty() ? cfg.max_len : given[0];
    if (len < 0) throw Error(ErrorKind::InvalidValue, std::string(name) + "[0] must be >= 0");
    return std::vector<int>(size_t(cfg.batch), len);
  }
  if (!given.empty()) {
    if (int(given.size()) != cfg.batch)
      throw Error(ErrorKind::InvalidValue, std::string(name) + " must have `batch` (" +
                                               std::to_string(cfg.batch) + ") entries, got " +
                                               std::to_string(given.size()));
    for (int len : given)
      if (len < 0) throw Error(ErrorKind::InvalidValue, std::string(name) + " entries must be >= 0");
    return given;
  }
  if (cfg.max_len < 1)
    throw Error(ErrorKind::InvalidValue, "max_len must be >= 1 for random lengths");
  std::uniform_int_distribution<int> len(0, cfg.max_len);
  std::vector<int> out(size_t(cfg.batch));
  for (int& l : out) l = len(rng);
  if (std::all_of(out.begin(), out.end(), [](int l) { return l == 0; }))
    out[size_t(rng() % out.size())] = std::uniform_int_distribution<int>(1, cfg.max_len)(rng);
  return out;
}

std::vector<int> draw_used(const std::vector<int>& lens, std::mt19937_64& rng) {
  std::vector<int> used(lens.size());
  for (size_t b = 0; b < lens.size(); ++b)
    used[b] = std::uniform_int_distribution<int>(0, lens[b])(rng);
  return used;
}

HostTensor cumulative(const std::vector<int>& lens) {
  std::vector<int32_t> cu(lens.size() + 1, 0);
  for (size_t b = 0; b < lens.size(); ++b) cu[b + 1] = cu[b] + lens[b];
  return HostTensor::from_ints(cu);
}

int ceil_div(int a, int b) { return (a + b - 1) / b; }

// Paged KV: a pool with more pages than needed, sequence pages taken from a
// random permutation (scattered), unused table entries as cfg.unused_pages says.
void make_pages(Problem& p, const std::vector<int>& lens_k, std::mt19937_64& rng) {
  const ProblemConfig& c = p.cfg;
  int needed = 0, max_pages = 1;
  for (int len : lens_k) {
    needed += ceil_div(len, c.page_size);
    max_pages = std::max(max_pages, ceil_div(len, c.page_size));
  }
  const int num_pages = needed + std::max(2, needed / 2);
  std::vector<int32_t> perm(static_cast<size_t>(num_pages));
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  p.page_table = HostTensor(DType::i32, {c.batch, max_pages});
  auto* table = p.page_table.as<int32_t>();
  auto unused = [&]() -> int32_t {
    if (c.unused_pages == -1) return -1;
    if (c.unused_pages == 1) return int32_t(rng() % 2 ? -1 - int(rng() % 1000000) : num_pages + int(rng() % 1000000));
    return int32_t(rng() % uint64_t(num_pages));
  };
  size_t taken = 0;
  for (int b = 0; b < c.batch; ++b)
    for (int i = 0; i < max_pages; ++i)
      table[b * max_pages + i] = i < ceil_div(lens_k[size_t(b)], c.page_size) ? perm[taken++] : unused();
  p.k = HostTensor(c.dtype, {num_pages, c.page_size, c.h_k, c.d});
  p.v = HostTensor(c.dtype, {num_pages, c.page_size, c.h_k, c.dv});
}

}  // namespace

Problem make_problem(const ProblemConfig& cfg) {
  if (cfg.batch < 1 || cfg.h < 1 || cfg.h_k < 1 || cfg.h % cfg.h_k != 0)
    throw Error(ErrorKind::InvalidValue, "ProblemConfig: batch, h, h_k must be >= 1 with h % h_k == 0");
  if (cfg.page_size < 0) throw Error(ErrorKind::InvalidValue, "ProblemConfig: page_size must be >= 0");
  if (cfg.unused_pages < -1 || cfg.unused_pages > 1)
    throw Error(ErrorKind::InvalidValue, "ProblemConfig: unused_pages must be -1, 0 or 1");
  Problem p;
  p.cfg = cfg;
  std::mt19937_64 rng(cfg.seed);
  const std::vector<int> lens_q = draw_lengths(cfg.seqlens_q, cfg, rng, "seqlens_q");
  const std::vector<int> lens_k = draw_lengths(cfg.seqlens_k, cfg, rng, "seqlens_k");
  const int64_t total_q = std::accumulate(lens_q.begin(), lens_q.end(), int64_t(0));
  const int64_t total_k = std::accumulate(lens_k.begin(), lens_k.end(), int64_t(0));
  p.max_seqlen_q = *std::max_element(lens_q.begin(), lens_q.end());
  p.max_seqlen_k = *std::max_element(lens_k.begin(), lens_k.end());
  const bool paged = cfg.page_size > 0;

  // Shapes: varlen (tokens, heads, dim) or 4-D (b, s, heads, dim).
  auto q_like = [&](int heads, int dim, DType t) {
    return cfg.varlen ? HostTensor(t, {total_q, heads, dim})
                      : HostTensor(t, {cfg.batch, p.max_seqlen_q, heads, dim});
  };
  p.q = q_like(cfg.h, cfg.d, cfg.dtype);
  if (cfg.qv || cfg.only_qv) p.qv = q_like(cfg.h, cfg.dv, cfg.dtype);
  if (cfg.varlen) p.cu_seqlens_q = cumulative(lens_q);
  if (paged) {
    make_pages(p, lens_k, rng);
  } else if (cfg.varlen) {
    p.cu_seqlens_k = cumulative(lens_k);
    p.k = HostTensor(cfg.dtype, {total_k, cfg.h_k, cfg.d});
    p.v = HostTensor(cfg.dtype, {total_k, cfg.h_k, cfg.dv});
  } else {
    p.k = HostTensor(cfg.dtype, {cfg.batch, p.max_seqlen_k, cfg.h_k, cfg.d});
    p.v = HostTensor(cfg.dtype, {cfg.batch, p.max_seqlen_k, cfg.h_k, cfg.dv});
  }
  // Every element random, the unused pages of the pool included: reading a
  // wrong page or row gives a visibly wrong answer.
  for (HostTensor* t : {&p.q, &p.k, &p.v, &p.qv})
    if (!t->empty()) t->fill_normal(rng, 0.f, cfg.value_scale);
  for (HostTensor* t : {&p.q, &p.k, &p.v})
    for (int i = 0; i < cfg.outliers && t->numel() > 0; ++i)
      t->set(int64_t(rng() % uint64_t(t->numel())), (rng() & 1) ? 400.f : -400.f);

  if (cfg.seqused_q) p.seqused_q = HostTensor::from_ints(draw_used(lens_q, rng));
  // Paged key lengths always come from seqused_k (the page table only gives
  // places); with cfg.seqused_k they are drawn below the allocated pages.
  if (cfg.seqused_k) p.seqused_k = HostTensor::from_ints(draw_used(lens_k, rng));
  else if (paged) p.seqused_k = HostTensor::from_ints(lens_k);

  if (cfg.descale) {
    for (HostTensor* t : {&p.q_descale, &p.k_descale, &p.v_descale}) {
      *t = HostTensor(DType::f32, {cfg.batch, cfg.h_k});
      t->fill_uniform(rng, 0.5f, 2.f);
    }
    for (int64_t i = 0; i < p.k_descale.numel(); ++i) p.k_descale.set(i, p.k_descale.get(i) * cfg.k_descale_factor);
  }
  if (cfg.sinks) {
    p.sinks = HostTensor(cfg.sinks_dtype, {cfg.h});
    p.sinks.fill_normal(rng, 0.f, 2.f);
  }
  if (cfg.give_out) p.out = q_like(cfg.h, cfg.dv, out_dtype_of(cfg.dtype));
  if (cfg.return_lse)
    p.lse = cfg.varlen ? HostTensor(DType::f32, {cfg.h, total_q})
                       : HostTensor(DType::f32, {cfg.batch, cfg.h, p.max_seqlen_q});
  p.poison();
  return p;
}

void Problem::poison() {
  if (!out.empty()) out.fill_bytes(0xFF);
  if (!lse.empty()) lse.fill_bytes(0xFF);
}

VarlenArgs Problem::args() const {
  VarlenArgs a;
  a.q = q.view();
  a.k = k.view();
  a.v = v.view();
  a.cu_seqlens_q = cu_seqlens_q.view();
  a.cu_seqlens_k = cu_seqlens_k.view();
  a.max_seqlen_q = max_seqlen_q;
  a.max_seqlen_k = max_seqlen_k;
  a.seqused_q = seqused_q.view();
  a.seqused_k = seqused_k.view();
  a.page_table = page_table.view();
  a.causal = cfg.causal;
  a.qv = qv.view();
  a.q_descale = q_descale.view();
  a.k_descale = k_descale.view();
  a.v_descale = v_descale.view();
  a.window_size = {cfg.window_left, cfg.window_right};
  a.attention_chunk = cfg.attention_chunk;
  a.softcap = cfg.softcap;
  a.softmax_scale = cfg.softmax_scale;
  a.num_splits = cfg.num_splits;
  a.only_qv = cfg.only_qv;
  a.return_softmax_lse = cfg.return_lse;
  a.sinks = sinks.view();
  a.out = out.view();
  a.softmax_lse = lse.view();
  return a;
}

}  // namespace fa3jit::testing
