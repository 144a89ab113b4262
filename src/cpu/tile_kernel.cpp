#include "cpu/tile_kernel.h"

#include <algorithm>
#include <vector>

#include "../../kernels/common/mask.cuh"
#include "../../kernels/common/seqinfo.cuh"
#include "../../kernels/common/softmax.cuh"
#include "../../kernels/common/warp_math.cuh"
#include "cpu/row_convert.h"
#include "cpu/vector_ops.h"

namespace fa3jit::cpu {
namespace {
using namespace fa3jit_k;

// Per-thread buffers, grown on demand and reused by every tile the thread runs.
struct Scratch {
  std::vector<float> q, qv;     // [rows][d], [rows][dv]
  std::vector<float> kt, vt;    // key block transposed: [d][kBlockKeys], [dv][kBlockKeys]
  std::vector<float> v;         // value block: [kBlockKeys][dv]
  std::vector<float> k_row;     // one key row, converted
  std::vector<float> s;         // [rows][kBlockKeys]: scores, then probabilities
  std::vector<float> acc;       // [rows][dv]: unnormalized output
  std::vector<float> m, l;      // running max and sum of each row
  std::vector<KeyRange> keys;   // visible keys of each row
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

template <class T>
T* sized(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

// The key blocks of split `split` (of num_splits) among the blocks that hold
// the keys [keys.begin, keys.end): an even share of whole blocks.
struct BlockRange {
  int begin, end;
};
BlockRange split_blocks(KeyRange keys, int split, int num_splits) {
  if (keys.end <= keys.begin) return {0, 0};
  const int first = keys.begin / kBlockKeys;
  const int64_t n = ceil_div(keys.end, kBlockKeys) - first;
  return {first + int(n * split / num_splits), first + int(n * (split + 1) / num_splits)};
}

struct Shape {
  int rows, d, dv;
  bool use_qk, use_qv;
};

// Converts keys [j0, j0 + nk) of kv-head hk to float: K transposed (so the
// score loop runs along keys), V row-major (for P.V) and, with qv, also
// transposed. Columns past nk are zero so fixed-length loops read defined values.
void load_kv_block(const AttnParams& p, DType in_dtype, const SeqInfo& s, int b, int hk, int j0, int nk,
                   const Shape& sh, Scratch& sc, float* kt, float* v, float* vt) {
  constexpr int BK = kBlockKeys;
  float* k_row = sized(sc.k_row, size_t(sh.d));
  for (int t = 0; t < nk; ++t) {
    const KvRow o = kv_offset(p, s, b, j0 + t, hk);
    if (sh.use_qk) {
      load_row(p.k, in_dtype, o.k, sh.d, k_row);
      for (int c = 0; c < sh.d; ++c) kt[c * BK + t] = k_row[c];
    }
    load_row(p.v, in_dtype, o.v, sh.dv, v + size_t(t) * sh.dv);
    if (sh.use_qv)
      for (int c = 0; c < sh.dv; ++c) vt[c * BK + t] = v[size_t(t) * sh.dv + c];
  }
  for (int t = nk; t < BK; ++t) {
    if (sh.use_qk)
      for (int c = 0; c < sh.d; ++c) kt[c * BK + t] = 0.f;
    if (sh.use_qv)
      for (int c = 0; c < sh.dv; ++c) vt[c * BK + t] = 0.f;
  }
}

}  // namespace

void run_tile(const AttnParams& p, DType in_dtype, DType out_dtype, const TileTask& task, int split,
              SplitWorkspace* ws, int64_t first_slot) {
  constexpr int BK = kBlockKeys;
  const int b = task.b;
  const SeqInfo s = seq_info(p, b);
  const MaskSpec mask = mask_spec(p);
  const int hk = kv_head_of(p, task.head_begin);
  const Shape sh{tile_rows(task), p.d, p.dv, !p.only_qv, p.qv != nullptr};
  const int rows = sh.rows, d = sh.d, dv = sh.dv;

  Scratch& sc = scratch();
  float* q = sized(sc.q, size_t(rows) * d);
  float* qv = sized(sc.qv, size_t(rows) * dv);
  float* kt = sized(sc.kt, size_t(d) * BK);
  float* vt = sized(sc.vt, size_t(dv) * BK);
  float* v = sized(sc.v, size_t(BK) * dv);
  float* sp = sized(sc.s, size_t(rows) * BK);
  float* acc = sized(sc.acc, size_t(rows) * dv);
  float* m = sized(sc.m, size_t(rows));
  float* l = sized(sc.l, size_t(rows));
  KeyRange* keys = sized(sc.keys, size_t(rows));

  for (int i = 0; i < rows; ++i) {
    const int r = tile_row_query(task, i), hh = tile_row_head(task, i);
    if (sh.use_qk) load_row(p.q, in_dtype, q_offset(p, s, b, r, hh), d, q + size_t(i) * d);
    if (sh.use_qv) load_row(p.qv, in_dtype, qv_offset(p, s, b, r, hh), dv, qv + size_t(i) * dv);
    keys[i] = key_range(mask, r, s.seqlen_q, s.seqlen_k);
    m[i] = neg_inf();
    l[i] = 0.f;
  }
  std::fill(acc, acc + size_t(rows) * dv, 0.f);

  const KeyRange tile_keys = key_range_of_rows(mask, task.row_begin, task.row_end, s.seqlen_q, s.seqlen_k);
  const int num_splits = ws ? ws->num_splits() : 1;
  const BlockRange blocks = split_blocks(tile_keys, split, num_splits);
  const float scale = score_scale(p, b, hk);

  for (int blk = blocks.begin; blk < blocks.end; ++blk) {
    const int j0 = std::max(blk * BK, tile_keys.begin);
    const int nk = std::min((blk + 1) * BK, tile_keys.end) - j0;
    if (nk <= 0) continue;
    load_kv_block(p, in_dtype, s, b, hk, j0, nk, sh, sc, kt, v, vt);

    for (int i = 0; i < rows; ++i) {
      // Keys of this block that row i sees: one contiguous run [t_lo, t_hi).
      const int t_lo = std::clamp(keys[i].begin - j0, 0, nk);
      const int t_hi = std::clamp(keys[i].end - j0, 0, nk);
      if (t_lo >= t_hi) continue;
      float* si = sp + size_t(i) * BK;
      std::fill(si, si + BK, 0.f);
      if (sh.use_qk) add_scores(q + size_t(i) * d, kt, d, si);
      if (sh.use_qv) add_scores(qv + size_t(i) * dv, vt, dv, si);

      // Online softmax with the GPU paths' lazy running max: it moves only
      // when the block's max exceeds it by more than kMaxSlack16 log2 units
      // (running_max_moves); then the old sum and output are rescaled.
      float mx = neg_inf();
      for (int t = t_lo; t < t_hi; ++t) {
        si[t] = apply_softcap(si[t] * scale, p.softcap);
        mx = si[t] > mx ? si[t] : mx;
      }
      const bool moves = running_max_moves(mx, m[i], kLog2e, kMaxSlack16);
      const float correction = moves ? FA3JIT_EXPF(m[i] - mx) : 1.f;  // 0 when m was -inf
      if (moves) m[i] = mx;
      float sum = 0.f;
      for (int t = t_lo; t < t_hi; ++t) {
        si[t] = FA3JIT_EXPF(si[t] - m[i]);
        sum += si[t];
      }
      l[i] = l[i] * correction + sum;
      float* ai = acc + size_t(i) * dv;
      if (correction != 1.f)
        for (int c = 0; c < dv; ++c) ai[c] *= correction;
      add_weighted_rows(si, v, t_lo, t_hi, dv, ai);
    }
  }

  const float vscale = value_scale(p, b, hk);
  for (int i = 0; i < rows; ++i) {
    const int r = tile_row_query(task, i), hh = tile_row_head(task, i);
    const float* ai = acc + size_t(i) * dv;
    if (!ws) {
      const RowFinal f = finish_row(m[i], l[i], sink_logit(p, hh));
      store_row(p.out, out_dtype, out_offset(p, s, b, r, hh), dv, ai, f.out_scale * vscale);
      if (p.lse) p.lse[lse_offset(p, s, b, r, hh)] = f.lse;
    } else {
      // A partial: normalized by its own sum; the sink joins at the merge.
      const RowFinal f = finish_row(m[i], l[i], neg_inf());
      float* dst = ws->out(split, first_slot + i);
      for (int c = 0; c < dv; ++c) dst[c] = ai[c] * (f.out_scale * vscale);
      ws->lse(split, first_slot + i) = f.lse;
    }
  }
}

}  // namespace fa3jit::cpu
