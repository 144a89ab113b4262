// The sm80 forward tile (FA2 class): one CTA per (q-tile, head, batch,
// split). Q (and QV) in smem, K / V blocks streamed with cp.async (V's load
// overlaps Q.K^T, the next K's load overlaps softmax and P.V), online
// softmax in registers in log2 units, block skipping from the shared mask
// rules with per-element masking only on boundary blocks.
#pragma once
#include "../common/combine.cuh"
#include "../common/dtypes.cuh"
#include "../common/mask.cuh"
#include "../common/seqinfo.cuh"
#include "../common/softmax.cuh"
#include "../common/warp_math.cuh"
#include "gemm.cuh"
#include "load.cuh"
#include "mma.cuh"
#include "tile_config.cuh"

namespace fa3jit_k::sm80 {

template <int kD, int kDV, int kBlockM, int kBlockN, int kNWarps, int kStages, int kInDtype, int kMask, int kFlags>
__device__ __forceinline__ void fwd_tile(const AttnParams& p, float* ws, uint16_t* smem) {
  constexpr bool kPaged = kFlags & kFlagPaged, kSoftcap = kFlags & kFlagSoftcap, kSinks = kFlags & kFlagSinks;
  constexpr bool kQv = kFlags & (kFlagQv | kFlagOnlyQv), kOnlyQv = kFlags & kFlagOnlyQv;
  constexpr bool kSplit = kFlags & kFlagSplit, kPackGqa = kFlags & kFlagPackGqa;
  constexpr int kMma = kInDtype == kFP8E4M3 ? kBF16 : kInDtype;  // fp8 is dequantized to bf16
  constexpr int kOut = kMma;                                       // out dtype: the input's, bf16 for fp8
  constexpr int kThreads = 32 * kNWarps;
  constexpr int kMT = kBlockM / (16 * kNWarps);  // m16 tiles per warp
  constexpr int kNT = kBlockN / 8;               // n8 tiles of S
  constexpr int kVT = kDV / 8;                   // n8 tiles of O
  static_assert(kMT * 16 * kNWarps == kBlockM, "kBlockM must be a multiple of 16 * warps");
  static_assert(kD % 16 == 0 && kDV % 16 == 0 && kBlockN % 16 == 0, "tiles must be multiples of 16");

  static_assert(kStages == 1 || kStages == 2, "K/V stages: 1 or 2");
  // Layout as fwd_smem_bytes: Q, kStages K blocks, kStages V blocks, QV.
  uint16_t* sQ = smem;
  uint16_t* sK = sQ + kBlockM * smem_stride(kD);
  uint16_t* sV = sK + kStages * kBlockN * smem_stride(kD);
  uint16_t* sQV = sV + kStages * kBlockN * smem_stride(kDV);

  // Causal: the last q tiles see the most keys; they start first so that
  // the short tiles fill the tail of the grid.
  const int m_block = kMask == kMaskCausal ? int(gridDim.x - 1 - blockIdx.x) : int(blockIdx.x);
  const int b = kSplit ? int(blockIdx.z) / p.num_splits : int(blockIdx.z);
  const int split = kSplit ? int(blockIdx.z) % p.num_splits : 0;
  const int hpack = kPackGqa ? p.h / p.h_k : 1;
  const int hk = kPackGqa ? int(blockIdx.y) : kv_head_of(p, blockIdx.y);
  const int head_base = kPackGqa ? int(blockIdx.y) * hpack : int(blockIdx.y);
  const SeqInfo s = seq_info(p, b);
  // Tile row i is packed row m_block * kBlockM + i: q row pi / hpack of
  // head head_base + pi % hpack (without pack_gqa: q row pi of one head).
  const int rows_total = s.seqlen_q * hpack;
  const int row0 = m_block * kBlockM;
  if (row0 >= rows_total) return;
  auto q_row = [&](int pi) { return kPackGqa ? pi / hpack : pi; };
  auto q_head = [&](int pi) { return kPackGqa ? head_base + pi % hpack : head_base; };

  // ---- Q / QV tiles (first cp.async group, with the first K / V block)
  if constexpr (!kOnlyQv)
    load_tile<kInDtype, kBlockM, kD, kThreads>(sQ, p.q, p.d, [&](int i) -> int64_t {
      const int pi = row0 + i;
      return pi < rows_total ? q_offset(p, s, b, q_row(pi), q_head(pi)) : -1;
    });
  if constexpr (kQv)
    load_tile<kInDtype, kBlockM, kDV, kThreads>(sQV, p.qv, p.dv, [&](int i) -> int64_t {
      const int pi = row0 + i;
      return pi < rows_total ? qv_offset(p, s, b, q_row(pi), q_head(pi)) : -1;
    });

  // ---- which key blocks this tile (and split) visits
  const MaskSpec ms = mask_spec(p);
  const int r_first = q_row(row0), r_last = q_row(imin(row0 + kBlockM, rows_total) - 1);
  KeyRange tile_keys{0, s.seqlen_k};
  int full_begin = 0, full_end = s.seqlen_k;  // keys that every row of the tile sees
  if constexpr (kMask != kMaskNone) {
    tile_keys = key_range_of_rows(ms, r_first, r_last + 1, s.seqlen_q, s.seqlen_k);
    full_begin = key_range(ms, r_last, s.seqlen_q, s.seqlen_k).begin;
    full_end = key_range(ms, r_first, s.seqlen_q, s.seqlen_k).end;
  }
  int n_begin = tile_keys.begin / kBlockN;
  int n_end = tile_keys.end > tile_keys.begin ? ceil_div(tile_keys.end, kBlockN) : n_begin;
  if constexpr (kSplit) {
    const SplitBlocks sb = split_key_blocks(ceil_div(s.seqlen_k, kBlockN), split, p.num_splits);
    n_begin = imax(n_begin, sb.begin);
    n_end = imin(n_end, sb.end);
  }

  // ---- K / V block loads. Unpaged rows are affine in the token index.
  KvRow kv0{0, 0};
  if constexpr (!kPaged) kv0 = kv_offset(p, s, b, 0, hk);
  // K (kIsV false) or V: the same copy with the other tensor's pointer,
  // dims and strides.
  auto load_kv = [&](auto is_v, int n, int slot) {
    constexpr bool kIsV = decltype(is_v)::value;
    constexpr int kCols = kIsV ? kDV : kD;
    uint16_t* dst = (kIsV ? sV : sK) + slot * kBlockN * smem_stride(kCols);
    const void* src = kIsV ? p.v : p.k;
    const int cols = kIsV ? p.dv : p.d;
    if constexpr (kPaged) {
      load_tile<kInDtype, kBlockN, kCols, kThreads>(dst, src, cols, [&](int i) -> int64_t {
        const int t = n * kBlockN + i;
        if (t >= s.seqlen_k) return -1;
        const KvRow r = kv_offset(p, s, b, t, hk);
        return kIsV ? r.v : r.k;
      });
    } else {
      const int64_t stride = kIsV ? p.v_row_stride : p.k_row_stride;
      load_rows_strided<kInDtype, kBlockN, kCols, kThreads>(dst, src, (kIsV ? kv0.v : kv0.k) + int64_t(n) * kBlockN * stride,
                                                            stride, s.seqlen_k - n * kBlockN, cols);
    }
  };
  auto load_k = [&](int n, int slot) { load_kv(BoolTag<false>{}, n, slot); };
  auto load_v = [&](int n, int slot) { load_kv(BoolTag<true>{}, n, slot); };

  // ---- this thread's rows: (mi, hf) -> tile row warp*16*kMT + mi*16 + g + 8*hf
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, t4 = lane % 4;
  const int warp_row0 = warp * 16 * kMT;
  KeyRange row_keys[kMT][2];
#pragma unroll
  for (int mi = 0; mi < kMT; ++mi)
#pragma unroll
    for (int hf = 0; hf < 2; ++hf) {
      const int pi = imin(row0 + warp_row0 + mi * 16 + g + 8 * hf, rows_total - 1);
      row_keys[mi][hf] = kMask == kMaskNone ? KeyRange{0, s.seqlen_k}
                                            : key_range(ms, q_row(pi), s.seqlen_q, s.seqlen_k);
    }

  const float scale = score_scale(p, b, hk);
  const float scale_log2 = scale * kLog2e;
  const float softcap = p.softcap;
  // Scores are kept as q.k; log2 units are score * mult, folded into the
  // exp2's FFMA. Softcap, or a scale <= 0 (whose max is not q.k's max),
  // transforms the scores to log2 units first (mult = 1).
  const bool prescale = kSoftcap || !(scale_log2 > 0.f);
  const float mult = prescale ? 1.f : scale_log2;

  float o[kMT][kVT][4];
  float m_run[kMT][2], l_run[kMT][2];
#pragma unroll
  for (int mi = 0; mi < kMT; ++mi) {
#pragma unroll
    for (int vt = 0; vt < kVT; ++vt) o[mi][vt][0] = o[mi][vt][1] = o[mi][vt][2] = o[mi][vt][3] = 0.f;
    m_run[mi][0] = m_run[mi][1] = neg_inf();
    l_run[mi][0] = l_run[mi][1] = 0.f;
  }

  // One key block: S = Q K^T (+ QV V^T), scale / softcap / mask, online
  // softmax, O += P V. `after_scores` runs between the S GEMM and the
  // softmax (the single-stage pipeline syncs and issues a load there).
  auto process_block = [&](int n, uint32_t kb, uint32_t vb, auto&& after_scores) {
    float sacc[kMT][kNT][4];
#pragma unroll
    for (int mi = 0; mi < kMT; ++mi)
#pragma unroll
      for (int nt = 0; nt < kNT; ++nt) sacc[mi][nt][0] = sacc[mi][nt][1] = sacc[mi][nt][2] = sacc[mi][nt][3] = 0.f;
    if constexpr (!kOnlyQv) gemm_abt<kMma, kD, kMT, kNT>(smem_addr(sQ + warp_row0 * smem_stride(kD)), kb, sacc, lane);
    if constexpr (kQv) gemm_abt<kMma, kDV, kMT, kNT>(smem_addr(sQV + warp_row0 * smem_stride(kDV)), vb, sacc, lane);

    // (Uniform branches: the transform is rare, only boundary blocks mask.)
    if (prescale) {
#pragma unroll
      for (int mi = 0; mi < kMT; ++mi)
#pragma unroll
        for (int nt = 0; nt < kNT; ++nt)
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const float x = sacc[mi][nt][e];
            sacc[mi][nt][e] = kSoftcap ? apply_softcap(x * scale, softcap) * kLog2e : x * scale_log2;
          }
    }
    const bool full = n * kBlockN >= full_begin && (n + 1) * kBlockN <= full_end;
    if (!full) {
#pragma unroll
      for (int mi = 0; mi < kMT; ++mi)
#pragma unroll
        for (int nt = 0; nt < kNT; ++nt)
#pragma unroll
          for (int e = 0; e < 4; ++e)
            if (!key_visible(row_keys[mi][e / 2], n * kBlockN + nt * 8 + 2 * t4 + (e & 1))) sacc[mi][nt][e] = neg_inf();
    }
    after_scores();

    // Online softmax: the running sum and output scale by alpha =
    // exp2(m_old - m_new). A row's running max moves only when the block's
    // exceeds it by more than 8 log2 units (running_max_moves), and the
    // output is rescaled only when some row of the warp moved (alpha = 1
    // for all others): at d 256 the rescale costs 4x the block's exp2s.
    uint32_t pa[kMT][kNT / 2][4];
#pragma unroll
    for (int mi = 0; mi < kMT; ++mi) {
#pragma unroll
      for (int hf = 0; hf < 2; ++hf) {
        float mx = neg_inf();
#pragma unroll
        for (int nt = 0; nt < kNT; ++nt) mx = fmaxf(mx, fmaxf(sacc[mi][nt][2 * hf], sacc[mi][nt][2 * hf + 1]));
        mx = quad_max(mx);
        const bool moves = running_max_moves(mx, m_run[mi][hf], mult, kMaxSlack16);
        const float m_old = m_run[mi][hf];
        if (moves) m_run[mi][hf] = mx;
        const float m_use = m_run[mi][hf] == neg_inf() ? 0.f : m_run[mi][hf];  // no key yet: avoid inf - inf
        const float m_log2 = m_use * mult;
        const float alpha = moves ? fast_exp2(m_old * mult - m_log2) : 1.f;
        if (__any_sync(0xffffffffu, moves)) {
#pragma unroll
          for (int vt = 0; vt < kVT; ++vt) {
            o[mi][vt][2 * hf] *= alpha;
            o[mi][vt][2 * hf + 1] *= alpha;
          }
        }
        float sum = 0.f;
#pragma unroll
        for (int nt = 0; nt < kNT; ++nt)
#pragma unroll
          for (int e = 2 * hf; e < 2 * hf + 2; ++e) {
            const float pe = fast_exp2(fmaf(sacc[mi][nt][e], mult, -m_log2));
            sacc[mi][nt][e] = pe;
            sum += pe;
          }
        l_run[mi][hf] = l_run[mi][hf] * alpha + sum;
      }
#pragma unroll
      for (int kk = 0; kk < kNT / 2; ++kk) {
        pa[mi][kk][0] = pack_half2<kMma>(sacc[mi][2 * kk][0], sacc[mi][2 * kk][1]);
        pa[mi][kk][1] = pack_half2<kMma>(sacc[mi][2 * kk][2], sacc[mi][2 * kk][3]);
        pa[mi][kk][2] = pack_half2<kMma>(sacc[mi][2 * kk + 1][0], sacc[mi][2 * kk + 1][1]);
        pa[mi][kk][3] = pack_half2<kMma>(sacc[mi][2 * kk + 1][2], sacc[mi][2 * kk + 1][3]);
      }
    }
    gemm_pv<kMma, kDV, kMT, kNT / 2>(pa, vb, o, lane);
  };

  if constexpr (kStages == 2) {
    // Two buffers: block n-1's K and V load during block n's whole compute.
    if (n_end > n_begin) {
      if constexpr (!kOnlyQv) load_k(n_end - 1, 0);
      load_v(n_end - 1, 0);
    }
    cp_async_commit();
    int slot = 0;
    for (int n = n_end - 1; n >= n_begin; --n) {
      if (n > n_begin) {  // into the other slot: every warp left it at the last barrier
        if constexpr (!kOnlyQv) load_k(n - 1, slot ^ 1);
        load_v(n - 1, slot ^ 1);
      }
      cp_async_commit();
      cp_async_wait<1>();  // all but the newest group: block n landed
      __syncthreads();
      process_block(n, smem_addr(sK + slot * kBlockN * smem_stride(kD)), smem_addr(sV + slot * kBlockN * smem_stride(kDV)),
                    [] {});
      __syncthreads();  // every warp is done with this slot before it is refilled
      slot ^= 1;
    }
  } else {
    // One buffer each: V[n]'s load overlaps Q.K^T, K[n-1]'s the softmax and
    // P.V (with qv, V is needed for the scores: it loads with K).
    if (n_end > n_begin) {
      if constexpr (!kOnlyQv) load_k(n_end - 1, 0);
      if constexpr (kQv) load_v(n_end - 1, 0);
    }
    cp_async_commit();
    for (int n = n_end - 1; n >= n_begin; --n) {
      cp_async_wait<0>();
      __syncthreads();  // K[n] (with qv: V[n]) landed; every warp is done with V[n+1]
      if constexpr (!kQv) {
        load_v(n, 0);
        cp_async_commit();
      }
      process_block(n, smem_addr(sK), smem_addr(sV), [&] {
        cp_async_wait<0>();
        __syncthreads();  // V[n] landed; every warp is done with K[n]
        if (n > n_begin) {
          if constexpr (!kOnlyQv) load_k(n - 1, 0);
          cp_async_commit();
        }
      });
      if constexpr (kQv) {
        if (n > n_begin) {
          __syncthreads();  // every warp is done with V[n]
          load_v(n - 1, 0);
          cp_async_commit();
        }
      }
    }
  }
  cp_async_wait<0>();  // nothing in flight at exit (a tile with no key block still loaded Q)

  // ---- epilogue: normalize, write out and LSE (or the split's partials)
  const float vscale = value_scale(p, b, hk);
#pragma unroll
  for (int mi = 0; mi < kMT; ++mi)
#pragma unroll
    for (int hf = 0; hf < 2; ++hf) {
      const float l = quad_sum(l_run[mi][hf]);
      const int pi = row0 + warp_row0 + mi * 16 + g + 8 * hf;
      if (pi >= rows_total) continue;
      const int r = q_row(pi), hh = q_head(pi);
      const float m = m_run[mi][hf] * mult * kLn2;
      const float sink = (kSinks && !kSplit) ? sink_logit(p, hh) : neg_inf();  // split: combine adds it
      const RowFinal f = finish_row(m, l, sink);
      const float os = f.out_scale * vscale;
      auto o_pair = [&](int vt) { return make_float2(o[mi][vt][2 * hf], o[mi][vt][2 * hf + 1]); };
      if constexpr (kSplit) {
        const int64_t row = split_row(p, s, b, r);
        float* dst = ws + split_out_index(p, split, row, hh);
        store_row_pairs<kF32, kVT>(dst, t4, p.dv, os, o_pair);
        if (t4 == 0) ws[split_lse_base(p) + split_lse_index(p, split, row, hh)] = f.lse;
      } else {
        uint16_t* dst = static_cast<uint16_t*>(p.out) + out_offset(p, s, b, r, hh);
        store_row_pairs<kOut, kVT>(dst, t4, p.dv, os, o_pair);
        if (t4 == 0 && p.lse) p.lse[lse_offset(p, s, b, r, hh)] = f.lse;
      }
    }
}

}  // namespace fa3jit_k::sm80
