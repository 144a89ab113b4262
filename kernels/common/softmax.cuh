// Score transforms (softcap), attention sinks, and the pieces of the online
// softmax that every path shares: finishing a row, and merging split-KV
// partial results. Natural-log units throughout (LSE is ln-sum-exp).
#pragma once
#include "params.cuh"

namespace fa3jit_k {

#if defined(FA3JIT_DEVICE_CODE)
FA3JIT_HD float bits_to_float(uint32_t u) { return __uint_as_float(u); }
#define FA3JIT_TANHF tanhf
#define FA3JIT_EXPF __expf
#define FA3JIT_LOGF __logf
#define FA3JIT_NEG_INF (-__int_as_float(0x7f800000))
#else
FA3JIT_HD float bits_to_float(uint32_t u) {
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}
#define FA3JIT_TANHF std::tanh
#define FA3JIT_EXPF std::exp
#define FA3JIT_LOGF std::log
#define FA3JIT_NEG_INF (-HUGE_VALF)
#endif

FA3JIT_HD float neg_inf() { return FA3JIT_NEG_INF; }

// softcap * tanh(s / softcap); applied to the scaled score, before masking.
FA3JIT_HD float apply_softcap(float s, float softcap) {
  return softcap > 0.f ? softcap * FA3JIT_TANHF(s / softcap) : s;
}

// Sink logit of query head hh (fp32 or bf16), or -inf when there are none.
FA3JIT_HD float sink_logit(const AttnParams& p, int hh) {
  if (!p.sinks) return neg_inf();
  if (p.sinks_dtype == kBF16)
    return bits_to_float(uint32_t(static_cast<const uint16_t*>(p.sinks)[hh]) << 16);
  return static_cast<const float*>(p.sinks)[hh];
}

// The scale that multiplies q.k (softmax_scale and the fp8 descales).
FA3JIT_HD float score_scale(const AttnParams& p, int b, int hk) {
  float s = p.softmax_scale;
  if (p.q_descale) s *= p.q_descale[b * p.q_descale_b_stride + hk * p.q_descale_h_stride];
  if (p.k_descale) s *= p.k_descale[b * p.k_descale_b_stride + hk * p.k_descale_h_stride];
  return s;
}
FA3JIT_HD float value_scale(const AttnParams& p, int b, int hk) {
  return p.v_descale ? p.v_descale[b * p.v_descale_b_stride + hk * p.v_descale_h_stride] : 1.f;
}

// Lazy running max of the GPU paths' online softmax: a row's max moves
// only when a block's max exceeds it by more than `slack` log2 units, so
// that most blocks skip rescaling the output (the exponentials then reach
// up to 2^slack: 2^8 for 16-bit P; e4m3 P, already scaled by 2^8, takes
// 0.8, as 2^8.8 < 448). `mult` turns the maxima into log2 units. A row with
// no key yet (both -inf) does not move (NaN > slack is false).
constexpr float kMaxSlack16 = 8.f, kMaxSlackE4m3 = 0.8f;
FA3JIT_HD bool running_max_moves(float block_max, float running_max, float mult, float slack) {
  return (block_max - running_max) * mult > slack;
}

// A finished row: out = acc * out_scale, and its LSE.
struct RowFinal {
  float out_scale;
  float lse;
};

// Online-softmax state (m = running max, l = sum of exp(s - m)) to the
// final scale and LSE, folding in a sink logit (-inf = none). A row that saw
// no key gets out 0 and LSE -inf (or the sink).
FA3JIT_HD RowFinal finish_row(float m, float l, float sink) {
  RowFinal f;
  const bool no_key = !(l > 0.f) || m == neg_inf();
  if (no_key) {
    f.out_scale = 0.f;
    f.lse = sink;
    return f;
  }
  if (sink == neg_inf()) {
    f.out_scale = 1.f / l;
    f.lse = m + FA3JIT_LOGF(l);
    return f;
  }
  const float mm = m > sink ? m : sink;
  const float lt = l * FA3JIT_EXPF(m - mm) + FA3JIT_EXPF(sink - mm);
  f.out_scale = FA3JIT_EXPF(m - mm) / lt;
  f.lse = mm + FA3JIT_LOGF(lt);
  return f;
}

// Merging split-KV partials: each split s left (out_s normalized by its own
// sum, lse_s, with no sink). Pass 1 finds the max over lse_s and the sink,
// pass 2 sums; the weight of split s is exp(lse_s - lse_total).
struct SplitMerge {
  float max_lse;
  float sum;
};
FA3JIT_HD SplitMerge merge_begin(float sink) {
  SplitMerge s;
  s.max_lse = sink;
  s.sum = 0.f;
  return s;
}
FA3JIT_HD void merge_max(SplitMerge& s, float lse) { s.max_lse = lse > s.max_lse ? lse : s.max_lse; }
FA3JIT_HD void merge_add(SplitMerge& s, float lse) {
  if (lse != neg_inf()) s.sum += FA3JIT_EXPF(lse - s.max_lse);
}
// LSE of the merged row (sink included); -inf when no split saw a key.
FA3JIT_HD float merge_lse(const SplitMerge& s, float sink) {
  if (s.max_lse == neg_inf()) return neg_inf();
  const float total = s.sum + (sink == neg_inf() ? 0.f : FA3JIT_EXPF(sink - s.max_lse));
  return s.max_lse + FA3JIT_LOGF(total);
}
FA3JIT_HD float merge_weight(float lse_split, float lse_total) {
  return (lse_split == neg_inf() || lse_total == neg_inf()) ? 0.f : FA3JIT_EXPF(lse_split - lse_total);
}

}  // namespace fa3jit_k
