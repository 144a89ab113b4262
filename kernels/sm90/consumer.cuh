// A consumer warpgroup of the sm90 kernel: 64 rows of each 128-row Q tile
// (or the whole 64-row tile of the one-warpgroup decode kernel).
// Per key block: S = Q K^T with wgmma (Q and K from shared memory), scale /
// softcap / mask with the shared rules (per-element only on boundary
// blocks), online softmax in registers (log2 units), P converted to 16-bit
// registers as the A operand of O += P V (V from shared memory, MN-major;
// fp8: P in e4m3 against V^T, K-major, from the producer's transpose, fp8.cuh).
// Each buffer is released on its empty mbarrier as soon as its MMA is done.
// Epilogue with per-row bounds, so that no store reaches past the sequence
// (or into a neighbouring one in varlen mode): 16-bit output through the
// tile's Q buffer in whole sectors (epilogue.cuh) where the kernel has two Q
// buffers and the output is 16-byte aligned, else straight from registers;
// with split-KV, fp32 partials and the split's LSE into the workspace.
#pragma once
#include "../common/dtypes.cuh"
#include "../common/mask.cuh"
#include "../common/seqinfo.cuh"
#include "../common/softmax.cuh"
#include "../common/warp_math.cuh"
#include "epilogue.cuh"
#include "fp8.cuh"
#include "smem.cuh"
#include "tile_ring.cuh"
#include "wgmma.cuh"

namespace fa3jit_k::sm90 {

// Zeroes the rows [valid, kBlockN) of a V block (keys past the sequence
// end: their P is 0, but 0 * NaN from an uninitialized page is NaN), then
// makes the stores visible to wgmma. Both consumer warpgroups write the
// same zeros; each waits only for its own before its MMA.
template <int kDV, int kBlockN>
__device__ __forceinline__ void zero_v_tail(uint8_t* v, int valid, int cw) {
  constexpr int kChunks = padded_cols(kDV) / 64;
  const int rows = kBlockN - valid;
  const int tid = threadIdx.x % 128;
  for (int i = tid; i < kChunks * rows * 8; i += 128) {
    const int c = i / (rows * 8), rem = i % (rows * 8);
    uint4* dst = reinterpret_cast<uint4*>(v + c * kBlockN * 128 + (valid + rem / 8) * 128) + rem % 8;
    *dst = make_uint4(0, 0, 0, 0);
  }
  fence_async_smem();
  named_sync(1 + cw, 128);
}

// Pingpong between the consumer warpgroups (named barrier kPingpongBar +
// cw, after zero_v_tail's 1..3): a warpgroup issues its MMAs only after
// the one before it (cyclically) issued its own, so that their softmaxes
// alternate with each other's MMAs. The last warpgroup arrives once at the
// start (pingpong_start) so that warpgroup 0 goes first.
constexpr int kPingpongBar = 4;
template <bool kOn, int kWGs>
__device__ __forceinline__ void pingpong_start(int cw) {
  if (kOn && cw == kWGs - 1) named_arrive(kPingpongBar, 256);
}
template <bool kOn>
__device__ __forceinline__ void pingpong_begin(int cw) {
  if (kOn) named_sync(kPingpongBar + cw, 256);
}
template <bool kOn, int kWGs>
__device__ __forceinline__ void pingpong_end(int cw) {
  if (kOn) named_arrive(kPingpongBar + (cw + 1) % kWGs, 256);
}

template <int kD, int kDV, int kBlockN, int kStages, int kInDtype, int kMask, int kFlags, class S>
__device__ __forceinline__ void consume(const AttnParams& p, const S& sm, int cw, int group, float* ws) {
  constexpr bool kSoftcap = kFlags & kFlagSoftcap, kSinks = kFlags & kFlagSinks, kPack = kFlags & kFlagPackGqa;
  constexpr int kNS = kBlockN / 2;  // S accumulators per thread
  constexpr int kNO = kDV / 2;      // O accumulators per thread
  // fp8 (k32 steps of 32 bytes, V^T K-major from the producer's transpose,
  // P as e4m3 scaled by 2^kPShift so that it uses e4m3's range: the shift
  // cancels in out = O / l and is taken off the LSE; output bf16 times v_descale)
  constexpr bool kFp8 = kInDtype == kFP8E4M3;
  constexpr int kOutDtype = kFp8 ? kBF16 : kInDtype;
  constexpr float kPShift = kFp8 ? 8.f : 0.f;
  constexpr float kMaxSlack = kFp8 ? kMaxSlackE4m3 : kMaxSlack16;  // running_max_moves
  constexpr int kKStep = kFp8 ? 32 : 16;
  constexpr int kKSteps = kD / kKStep, kPSteps = kBlockN / kKStep;
  static_assert(kD % 16 == 0 && kDV % 16 == 0 && kBlockN % 16 == 0, "dims must be multiples of 16");
  constexpr bool kPingpong = kFlags & kFlagPingpong;
  constexpr bool kSplit = kFlags & kFlagSplit;
  constexpr int kBM = block_m_of(kFlags);
  constexpr int kWGs = consumer_warpgroups(kFlags);
  static_assert(!kPingpong || kWGs >= 2, "pingpong needs two consumer warpgroups or more");
  static_assert(kWGs < 3 || !kFp8, "three consumer warpgroups: 16-bit inputs only (the fp8 registers do not fit)");
  // 16-bit output staged in the tile's Q buffer (epilogue.cuh): with two Q
  // buffers the next tile's Q is already in the other one, so holding this
  // one through the epilogue delays only the load of the tile after next.
  // The Q rows must hold dv 16-bit columns (not fp8's 8-bit ones). dv 64
  // (one 128-byte row, 16 stores a thread) measured 1-2% slower staged.
  constexpr bool kStageO =
      S::kQBuffers == 2 && !kSplit && !kFp8 && kDV >= 128 && padded_cols(kDV) <= padded_cols(kD);
  const bool out_vec16 = kStageO && p.dv % 8 == 0 && (reinterpret_cast<uintptr_t>(p.out) & 15) == 0 &&
                         p.o_row_stride % 8 == 0 && p.o_head_stride % 8 == 0 && p.o_batch_stride % 8 == 0;

  const int tid = threadIdx.x % 128, warp = tid / 32, lane = tid % 32, g = lane / 4, t4 = lane % 4;
  const int wg_row0 = cw * 64;
  const TileGrid grid = tile_grid<kFlags>(p, group);
  const MaskSpec ms = mask_spec(p);
  const float softcap = p.softcap;
  RingPos<kStages> kv;  // the K / V buffer of the next block
  int tcount = 0;
  pingpong_start<kPingpong, kWGs>(cw);

  // Tiles are looked up one ahead: the next tile's lookup (integer
  // divisions, then the sequence-info loads) is issued behind this tile's
  // last P V, so that its latency hides under that MMA and the epilogue
  // instead of delaying the next tile's first S. Measured on an H100
  // (scripts/gpu_ab.sh): dv 128 +1..4% (1k-4k, bf16 and fp8); dv 64 -1..5%
  // causal; dv 256 cannot keep a tile's fields through the mainloop beside
  // O's 128 registers (ptxas spills). The others look the tile up again for
  // the epilogue, and the next one after it.
  constexpr bool kLookAhead = kDV == 128;
  // kFlagDynamic: a round's tile index is the producer's next publication,
  // read once per round (tile_ring.cuh); t_cur keeps it for the epilogue,
  // walk_done notes the end mark.
  constexpr bool kDynamic = kFlags & kFlagDynamic;
  int t_cur = 0;
  bool walk_done = false;
  auto lookup = [&](int round) {
    int t;
    if constexpr (kDynamic) {
      t = take_tile(sm, round, lane);
      walk_done = t >= grid.count;
      if constexpr (!kLookAhead) t_cur = t;
    } else {
      t = tile_of_round(round);
    }
    Tile x{};
    if (t < grid.count) x = tile_at<kBlockN, kMask, kFlags>(p, grid, t);  // else invalid
    return x;
  };
  Tile next{};
  if constexpr (kLookAhead) next = lookup(0);
  for (int round = 0; kDynamic || round * int(gridDim.x) < grid.count; ++round) {
    const Tile x = kLookAhead ? next : lookup(round);
    if (kDynamic && walk_done) break;
    if (!x.valid) {
      if constexpr (kLookAhead) next = lookup(round + 1);
      continue;
    }
    const int row0 = x.m_block * kBM;
    const int qs = tcount % S::kQBuffers;  // this tile's Q buffer
    const uint32_t q_addr = smem_addr(sm.q(qs)) + wg_row0 * 128;
    KeyRange rk[2];  // keys of this thread's two rows
#pragma unroll
    for (int hf = 0; hf < 2; ++hf) {
      const int pc = imin(row0 + wg_row0 + warp * 16 + g + 8 * hf, x.rows_total - 1);
      rk[hf] = kMask == kMaskNone ? KeyRange{0, x.s.seqlen_k}
                                  : key_range(ms, pc / grid.hpack, x.s.seqlen_q, x.s.seqlen_k);
    }
    const float scale = score_scale(p, x.b, x.hk);
    const float scale_log2 = scale * kLog2e;

    float o[kNO];
#pragma unroll
    for (int i = 0; i < kNO; ++i) o[i] = 0.f;
    float m_run[2] = {neg_inf(), neg_inf()}, l_run[2] = {0.f, 0.f};

    // S = Q K^T of the block in stage st (issued, not waited for).
    auto issue_s = [&](float (&s)[kNS], int st) {
      const uint32_t k_addr = smem_addr(sm.k(st));
      wgmma_fence();
#pragma unroll
      for (int ks = 0; ks < kKSteps; ++ks)
        Wgmma<kBlockN, kInDtype>::ss(s, desc_kmajor(q_addr, kBM, ks), desc_kmajor(k_addr, kBlockN, ks),
                                     ks > 0 ? 1 : 0);
      wgmma_commit();
    };
    // O += P V of the block in stage st (issued, not waited for).
    auto issue_pv = [&](uint32_t (&pa)[kPSteps][4], int st) {
      const uint32_t v_addr = smem_addr(sm.v(st));
#pragma unroll
      for (int kk = 0; kk < kPSteps; ++kk) fence_regs(pa[kk]);
      fence_regs(o);
      wgmma_fence();
#pragma unroll
      for (int kk = 0; kk < kPSteps; ++kk)
        Wgmma<kDV, kInDtype>::rs(o, pa[kk], kFp8 ? desc_kmajor(v_addr, kDV, kk) : desc_mnmajor(v_addr, kBlockN, kk), 1);
      wgmma_commit();
    };
    // Scores of block n in log2 units (masked keys -inf, only boundary
    // blocks test), the online softmax (new max, running sum, the factor
    // alpha that O must be rescaled by) and P as 16-bit A fragments.
    // Without softcap the raw scores are scaled only inside the exponent (one
    // FFMA per score): log2 units are s * f, and the row max of s * f is f
    // times the raw max for f > 0, the raw min for f < 0 (the fp8 descales
    // are device values: their sign is known only here), and a masked raw
    // score is -inf / +inf to match. A zero scale becomes a tiny positive
    // one: masked keys stay -inf (not 0 * inf = NaN) and every other
    // exponent rounds to exactly 0, as with 0.
    constexpr bool kFused = !kSoftcap;
    const float f = !kFused ? 1.f : scale_log2 == 0.f ? 1e-30f : scale_log2;
    const bool f_neg = f < 0.f;
    const float masked = f_neg ? -neg_inf() : neg_inf();
    auto softmax = [&](float (&s)[kNS], int n, float (&alpha)[2]) {
      const bool full = n * kBlockN >= x.full_begin && (n + 1) * kBlockN <= x.full_end;
      if constexpr (!kFused) {
#pragma unroll
        for (int i = 0; i < kNS; ++i) s[i] = apply_softcap(s[i] * scale, softcap) * kLog2e;
      }
      if (!full) {  // a branch, so that interior blocks pay nothing for the mask
#pragma unroll
        for (int i = 0; i < kNS; ++i)
          if (!key_visible(rk[(i / 2) & 1], n * kBlockN + (i / 4) * 8 + 2 * t4 + (i & 1))) s[i] = masked;
      }
#pragma unroll
      for (int hf = 0; hf < 2; ++hf) {
        float mx = masked;
        if (f_neg) {  // a uniform branch: one FMNMX per score either way
#pragma unroll
          for (int c = 0; c < kNS / 4; ++c) mx = fminf(mx, fminf(s[4 * c + 2 * hf], s[4 * c + 2 * hf + 1]));
          mx = quad_min(mx) * f;
        } else {
#pragma unroll
          for (int c = 0; c < kNS / 4; ++c) mx = fmaxf(mx, fmaxf(s[4 * c + 2 * hf], s[4 * c + 2 * hf + 1]));
          mx = quad_max(mx) * f;
        }
        // The running max moves only when the block's exceeds it by more
        // than kMaxSlack: P stays below 2^kMaxSlack (times 2^kPShift), and
        // O is rescaled only in the blocks where some row's max moved.
        if (running_max_moves(mx, m_run[hf], 1.f, kMaxSlack)) {
          alpha[hf] = fast_exp2(m_run[hf] - mx);  // 0 after -inf (no key yet)
          m_run[hf] = mx;
        } else {
          alpha[hf] = 1.f;
        }
        const float m_use = m_run[hf] == neg_inf() ? 0.f : m_run[hf];  // no key yet: avoid inf - inf
        float sum = 0.f;
#pragma unroll
        for (int c = 0; c < kNS / 4; ++c)
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            const float pe = fast_exp2(fmaf(s[4 * c + 2 * hf + e], f, kPShift - m_use));
            s[4 * c + 2 * hf + e] = pe;
            sum += pe;
          }
        l_run[hf] = l_run[hf] * alpha[hf] + sum;
      }
    };
    // P (fp32 in s) as the 16-bit (fp8: e4m3) A fragments of O += P V.
    auto pack_p = [&](const float (&s)[kNS], uint32_t (&pa)[kPSteps][4]) {
      if constexpr (kFp8) {
        pack_p_e4m3(s, pa);
      } else {
#pragma unroll
        for (int kk = 0; kk < kPSteps; ++kk)
#pragma unroll
          for (int j = 0; j < 4; ++j) pa[kk][j] = pack_half2<kInDtype>(s[8 * kk + 2 * j], s[8 * kk + 2 * j + 1]);
      }
    };
    auto rescale_o = [&](const float (&alpha)[2]) {
      // a warp-uniform branch: most blocks leave every row's max in place
      if (!__any_sync(0xffffffffu, alpha[0] != 1.f || alpha[1] != 1.f)) return;
#pragma unroll
      for (int c = 0; c < kNO / 4; ++c) {
        o[4 * c] *= alpha[0];
        o[4 * c + 1] *= alpha[0];
        o[4 * c + 2] *= alpha[1];
        o[4 * c + 3] *= alpha[1];
      }
    };
    auto release = [&](uint64_t* bar) { warp_arrive(bar, lane); };

    // Blocks run from the last to the first. Block n's S = Q K^T is issued
    // together with the previous block's O += P V; its softmax runs while
    // that P V is still on the tensor cores (intra-warpgroup overlap), and
    // the two consumer warpgroups take turns issuing their MMAs (pingpong),
    // so one's softmax runs under the other's MMAs.
    if (x.n_end > x.n_begin) {  // else the producer loaded no Q (tile_sched.cuh)
      mbar_wait(sm.q_full(qs), (tcount / S::kQBuffers) & 1);
      int st = kv.st;
      uint32_t ph = kv.ph;
      uint32_t pa[kPSteps][4];
      float alpha[2];
      {
        float s[kNS];
        mbar_wait(sm.k_full(st), ph);
        pingpong_begin<kPingpong>(cw);
        issue_s(s, st);
        pingpong_end<kPingpong, kWGs>(cw);
        wgmma_wait<0>();
        fence_regs(s);
        release(sm.k_empty(st));
        // Only S = Q K^T reads Q: after the tile's last S the producer may
        // load the next tile's Q (with one Q buffer, d 192 / 256, its load
        // then overlaps this tile's last P V and epilogue).
        if (!kStageO && x.n_end - 1 == x.n_begin) release(sm.q_empty(qs));
        softmax(s, x.n_end - 1, alpha);  // O is still 0: nothing to rescale
        pack_p(s, pa);
      }
      // The first block holds the sequence end: zero V's rows past it
      // (fp8: the producer's transpose did).
      mbar_wait(sm.v_full(st), ph);
      if constexpr (!kFp8) {
        if (x.n_end * kBlockN > x.s.seqlen_k)
          zero_v_tail<kDV, kBlockN>(sm.v(st), x.s.seqlen_k - (x.n_end - 1) * kBlockN, cw);
      }
      for (int n = x.n_end - 2; n >= x.n_begin; --n) {
        const int st_prev = st;
        kv.advance();
        st = kv.st;
        ph = kv.ph;
        float s[kNS];
        mbar_wait(sm.k_full(st), ph);
        pingpong_begin<kPingpong>(cw);
        issue_s(s, st);
        issue_pv(pa, st_prev);
        pingpong_end<kPingpong, kWGs>(cw);
        wgmma_wait<1>();  // S landed; P V may still run
        fence_regs(s);
        release(sm.k_empty(st));
        if (!kStageO && n == x.n_begin) release(sm.q_empty(qs));  // the tile's last S
        softmax(s, n, alpha);
        wgmma_wait<0>();  // P V done: O can be rescaled, pa rewritten
        fence_regs(o);
        release(sm.v_empty(st_prev));
        rescale_o(alpha);
        pack_p(s, pa);
        mbar_wait(sm.v_full(st), ph);
      }
      pingpong_begin<kPingpong>(cw);
      issue_pv(pa, st);
      pingpong_end<kPingpong, kWGs>(cw);
      if constexpr (kLookAhead) next = lookup(round + 1);
      wgmma_wait<0>();
      fence_regs(o);
      release(sm.v_empty(st));
      kv.advance();
      ++tcount;
    }
    if (kLookAhead && x.n_end <= x.n_begin) next = lookup(round + 1);

    // ---- epilogue: normalize, write out and LSE for the rows of this sequence
    Tile y;
    if constexpr (kLookAhead)
      y = x;
    else if constexpr (kDynamic)  // the same tile again, without a second read of the ring
      y = tile_at<kBlockN, kMask, kFlags>(p, grid, t_cur);
    else
      y = lookup(round);
    // Row hf of this thread: its packed row, head and final scale / LSE.
    struct RowOut {
      int pr, hh;
      RowFinal f;
    };
    auto head_of = [&](int pr) { return kPack ? y.hk * grid.hpack + pr % grid.hpack : y.head; };
    auto row_out = [&](int hf, int pr) {
      RowOut ro{pr, head_of(pr), {}};
      const float sink = (kSinks && !kSplit) ? sink_logit(p, ro.hh) : neg_inf();  // split: the combine adds it
      ro.f = finish_row((m_run[hf] - kPShift) * kLn2, quad_sum(l_run[hf]), sink);  // P (and l) were 2^kPShift too large
      if constexpr (kFp8) ro.f.out_scale *= value_scale(p, y.b, y.hk);
      return ro;
    };
    const int warp_row0 = y.m_block * kBM + wg_row0 + warp * 16;
    if (kStageO && out_vec16 && y.n_end > y.n_begin) {  // no blocks: no Q was loaded, its buffer is not ours
      float out_scale[2];
#pragma unroll
      for (int hf = 0; hf < 2; ++hf) {
        const RowOut ro = row_out(hf, warp_row0 + g + 8 * hf);
        out_scale[hf] = ro.f.out_scale;
        if (t4 == 0 && p.lse && ro.pr < y.rows_total)
          p.lse[lse_offset(p, y.s, y.b, ro.pr / grid.hpack, ro.hh)] = ro.f.lse;
      }
      const uint32_t base = smem_addr(sm.q(qs)) + (wg_row0 + warp * 16) * 128;
      stage_o_rows<kOutDtype, kDV>(base, kBM * 128, lane, o, out_scale[0], out_scale[1]);
      const int pr = warp_row0 + lane % 16;
      void* dst = pr < y.rows_total
                      ? static_cast<uint16_t*>(p.out) + out_offset(p, y.s, y.b, pr / grid.hpack, head_of(pr))
                      : nullptr;
      copy_staged_rows<kDV>(base, kBM * 128, lane, dst, p.dv);
    } else {  // straight from the accumulators, a thread's pairs of each row
#pragma unroll
      for (int hf = 0; hf < 2; ++hf) {
        const RowOut ro = row_out(hf, warp_row0 + g + 8 * hf);
        if (ro.pr >= y.rows_total) continue;
        const int r = ro.pr / grid.hpack;
        auto o_pair = [&](int c) { return make_float2(o[4 * c + 2 * hf], o[4 * c + 2 * hf + 1]); };
        if constexpr (kSplit) {  // fp32 partials, normalized by this split's own sum
          const int64_t row = split_row(p, y.s, y.b, r);
          float* part = ws + split_out_index(p, y.split, row, ro.hh);
          store_row_pairs<kF32, kNO / 4>(part, t4, p.dv, ro.f.out_scale, o_pair);
          if (t4 == 0) ws[split_lse_base(p) + split_lse_index(p, y.split, row, ro.hh)] = ro.f.lse;
          continue;
        }
        uint16_t* dst = static_cast<uint16_t*>(p.out) + out_offset(p, y.s, y.b, r, ro.hh);
        store_row_pairs<kOutDtype, kNO / 4>(dst, t4, p.dv, ro.f.out_scale, o_pair);
        if (t4 == 0 && p.lse) p.lse[lse_offset(p, y.s, y.b, r, ro.hh)] = ro.f.lse;
      }
    }
    // Staged output: the tile's Q buffer is free now (a tile with no blocks had none)
    if (kStageO && y.n_end > y.n_begin) release(sm.q_empty(qs));
  }
}

}  // namespace fa3jit_k::sm90
