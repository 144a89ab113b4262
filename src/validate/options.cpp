#include "validate/options.h"

#include <cmath>

#include "validate/check_util.h"

namespace fa3jit::detail {
namespace {

void check_at_least(int64_t v, int64_t lo, const char* name, const char* meaning) {
  if (v < lo) fail(ErrorKind::InvalidValue, name, " = ", v, " must be >= ", lo, meaning);
}

}  // namespace

void check_options(const VarlenArgs& a) {
  for (int i = 0; i < 2; ++i)
    if (a.window_size[i] < -1)
      fail(ErrorKind::InvalidValue, "window_size[", i, "] = ", a.window_size[i],
           " must be >= -1: -1 means unbounded, and a value below -1 would exclude every key");
  check_at_least(a.attention_chunk, 0, "attention_chunk", " (0 = off)");
  if (!std::isfinite(a.softcap) || a.softcap < 0)
    fail(ErrorKind::InvalidValue, "softcap = ", a.softcap, " must be finite and >= 0 (0 = off)");
  if (a.softmax_scale && !std::isfinite(*a.softmax_scale))
    fail(ErrorKind::InvalidValue, "softmax_scale = ", *a.softmax_scale, " must be finite");
  check_at_least(a.num_splits, 0, "num_splits", " (0 = auto, 1 = no split)");
  check_at_least(a.sm_margin, 0, "sm_margin", " (SMs left free)");
  if (a.max_seqlen_q) check_at_least(*a.max_seqlen_q, 0, "max_seqlen_q", "");
  if (a.max_seqlen_k) check_at_least(*a.max_seqlen_k, 0, "max_seqlen_k", "");
  if (a.only_qv && !a.qv.defined())
    fail(ErrorKind::InvalidValue, "only_qv = true requires qv (scores are qv . v^T only)");
  if (a.softmax_lse.defined() && !a.return_softmax_lse)
    fail(ErrorKind::InvalidValue, "softmax_lse is given but return_softmax_lse is false: the buffer would "
         "never be written; set return_softmax_lse = true or drop softmax_lse");
}

void apply_options(const VarlenArgs& a, const Layout& L, Plan& plan) {
  fa3jit_k::AttnParams& p = plan.params;
  p.window_left = a.window_size[0];
  p.window_right = a.causal ? 0 : a.window_size[1];
  p.is_causal = p.window_right == 0 ? 1 : 0;  // one mask, one kernel: (-1, 0) is causal
  p.attention_chunk = a.attention_chunk;
  p.softcap = a.softcap;
  p.only_qv = a.only_qv ? 1 : 0;
  // Default as upstream FlashAttention-3 (sglang's drop-in): 1/sqrt(d), with qv
  // 1/sqrt(d + dv) (the score has both terms), with only_qv 1/sqrt(dv).
  const int score_dim = a.only_qv ? L.dv : (a.qv.defined() ? L.d + L.dv : L.d);
  p.softmax_scale = a.softmax_scale ? *a.softmax_scale : 1.0f / std::sqrt(float(score_dim));
  plan.num_splits_requested = a.num_splits;
  p.num_splits = a.num_splits > 0 ? a.num_splits : 1;
  plan.pack_gqa_requested = a.pack_gqa ? (*a.pack_gqa ? 1 : 0) : -1;
  p.pack_gqa = plan.pack_gqa_requested > 0 ? 1 : 0;
  plan.sm_margin = a.sm_margin;
  plan.path = a.path;
}

}  // namespace fa3jit::detail
