// Split-KV (flash-decoding): where the forward kernels leave each split's
// partial result, and the combine step that merges the splits of a row
// into out / LSE with the shared merge_* rules (sinks folded in here, once).
// Shared by every GPU path.
#pragma once
#include "dtypes.cuh"
#include "pdl.cuh"
#include "seqinfo.cuh"
#include "softmax.cuh"

namespace fa3jit_k {

// Workspace layout, fp32: partial outputs [split][row][h][dv] (each
// normalized by its own split's sum, no sink), then partial LSEs
// [split][row][h] (-inf where the split saw no key). `row` is the packed q
// row: q_start + r for varlen q, b * max_seqlen_q + r for 4-D q.
FA3JIT_HD int64_t split_row(const AttnParams& p, const SeqInfo& s, int b, int r) {
  return p.cu_seqlens_q ? int64_t(s.q_start) + r : int64_t(b) * p.max_seqlen_q + r;
}
FA3JIT_HD int64_t split_lse_index(const AttnParams& p, int split, int64_t row, int hh) {
  return (int64_t(split) * p.total_q + row) * p.h + hh;
}
FA3JIT_HD int64_t split_out_index(const AttnParams& p, int split, int64_t row, int hh) {
  return split_lse_index(p, split, row, hh) * p.dv;
}
// Floats of the whole workspace; the LSE part starts at split_lse_base.
FA3JIT_HD int64_t split_lse_base(const AttnParams& p) {
  return int64_t(p.num_splits) * p.total_q * p.h * p.dv;
}
FA3JIT_HD int64_t split_workspace_floats(const AttnParams& p) {
  return split_lse_base(p) + int64_t(p.num_splits) * p.total_q * p.h;
}

// The key blocks [begin, end) of split `split` of a sequence with `n_blocks`
// key blocks: equal shares rounded up (so the last splits may get none; they
// still write LSE -inf). The GPU kernels intersect a tile's blocks with it.
struct SplitBlocks {
  int begin, end;
};
FA3JIT_HD SplitBlocks split_key_blocks(int n_blocks, int split, int num_splits) {
  const int per = ceil_div(n_blocks, num_splits);
  return {imin(n_blocks, split * per), imin(n_blocks, (split + 1) * per)};
}

// Combine launch shape: one warp per (row, head), kCombineRows rows a block;
// grid (ceil(max_seqlen_q / kCombineRows), h, batch).
constexpr int kCombineRows = 4;
constexpr int kCombineThreads = 32 * kCombineRows;

#if defined(FA3JIT_DEVICE_CODE)

__device__ __forceinline__ float warp_max(float x) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
  return x;
}
__device__ __forceinline__ float warp_sum(float x) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

// Merges the splits of one (row, head) into out (and LSE). Rows past the
// sequence's real length are not touched. Latency decides this kernel's
// time (a decode step combines a few KB per row): the LSEs are read once
// per 32 splits, each lane holding one split's weight, and the partial
// outputs 8 splits at a time with independent loads (one loop carrying a
// load per split cost two dependent L2 round trips per split: ~8 us of a
// batch-1 decode step with 16 splits).
template <int kOutDtype>
__device__ __forceinline__ void combine_splits_impl(const AttnParams& p, const float* ws) {
  constexpr int kBatch = 8;  // partial-output loads in flight per lane
  constexpr int kOutBytes = kOutDtype == kF32 ? 4 : 2;
  // Before any global read: the forward, and the kernels it waited for
  // (the decode step's append writes seqused_k), are complete past here.
  wait_for_primary_grid();
  const int b = blockIdx.z, hh = blockIdx.y;
  const int lane = threadIdx.x % 32;
  const int r = blockIdx.x * kCombineRows + threadIdx.x / 32;
  const SeqInfo s = seq_info(p, b);
  if (r >= s.seqlen_q) return;
  const int64_t row = split_row(p, s, b, r);
  const float* lse_part = ws + split_lse_base(p);
  const float sink = sink_logit(p, hh);
  const int ns = p.num_splits;

  SplitMerge m = merge_begin(sink);
  for (int sp = lane; sp < ns; sp += 32) merge_max(m, lse_part[split_lse_index(p, sp, row, hh)]);
  m.max_lse = warp_max(m.max_lse);
  for (int sp = lane; sp < ns; sp += 32) merge_add(m, lse_part[split_lse_index(p, sp, row, hh)]);
  m.sum = warp_sum(m.sum);
  const float lse = merge_lse(m, sink);

  char* out = static_cast<char*>(p.out) + out_offset(p, s, b, r, hh) * kOutBytes;
  for (int c = 4 * lane; c < p.dv; c += 128) {  // dv is a multiple of 8: float4 loads stay aligned
    float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
    for (int base = 0; base < ns; base += 32) {
      // Lane j: the weight of split base + j (0 past the last split).
      const int mine = base + lane;
      const float my_w = mine < ns ? merge_weight(lse_part[split_lse_index(p, mine, row, hh)], lse) : 0.f;
      const int n = imin(32, ns - base);
      for (int j0 = 0; j0 < n; j0 += kBatch) {
        float w[kBatch];
        float4 v[kBatch];
#pragma unroll
        for (int u = 0; u < kBatch; ++u) {
          w[u] = __shfl_sync(0xffffffffu, my_w, j0 + u);  // j0 + u < 32: n <= 32, j0 % 8 == 0
          // A split that saw no key (weight 0) may have left no output.
          v[u] = w[u] > 0.f ? *reinterpret_cast<const float4*>(ws + split_out_index(p, base + j0 + u, row, hh) + c)
                            : make_float4(0.f, 0.f, 0.f, 0.f);
        }
#pragma unroll
        for (int u = 0; u < kBatch; ++u) {
          acc.x += w[u] * v[u].x;
          acc.y += w[u] * v[u].y;
          acc.z += w[u] * v[u].z;
          acc.w += w[u] * v[u].w;
        }
      }
    }
    char* dst = out + c * kOutBytes;
    store_pair<kOutDtype>(dst, acc.x, acc.y);
    store_pair<kOutDtype>(dst + 2 * kOutBytes, acc.z, acc.w);
  }
  if (lane == 0 && p.lse) p.lse[lse_offset(p, s, b, r, hh)] = lse;
}

#endif  // FA3JIT_DEVICE_CODE

}  // namespace fa3jit_k
