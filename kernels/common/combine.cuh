// Split-KV (flash-decoding): where the forward kernels leave each split's
// partial result, and the combine step that merges the splits of a row
// into out / LSE with the shared merge_* rules (sinks folded in here, once).
// Shared by every GPU path.
#pragma once
#include "dtypes.cuh"
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
// sequence's real length are not touched.
template <int kOutDtype>
__device__ __forceinline__ void combine_splits_impl(const AttnParams& p, const float* ws) {
  const int b = blockIdx.z, hh = blockIdx.y;
  const int lane = threadIdx.x % 32;
  const int r = blockIdx.x * kCombineRows + threadIdx.x / 32;
  const SeqInfo s = seq_info(p, b);
  if (r >= s.seqlen_q) return;
  const int64_t row = split_row(p, s, b, r);
  const float* lse_part = ws + split_lse_base(p);
  const float sink = sink_logit(p, hh);

  SplitMerge m = merge_begin(sink);
  for (int sp = lane; sp < p.num_splits; sp += 32) merge_max(m, lse_part[split_lse_index(p, sp, row, hh)]);
  m.max_lse = warp_max(m.max_lse);
  for (int sp = lane; sp < p.num_splits; sp += 32) merge_add(m, lse_part[split_lse_index(p, sp, row, hh)]);
  m.sum = warp_sum(m.sum);
  const float lse = merge_lse(m, sink);

  char* out = static_cast<char*>(p.out) + out_offset(p, s, b, r, hh) * (kOutDtype == kF32 ? 4 : 2);
  for (int c = 2 * lane; c < p.dv; c += 64) {  // dv is even
    float a0 = 0.f, a1 = 0.f;
    for (int sp = 0; sp < p.num_splits; ++sp) {
      const float w = merge_weight(lse_part[split_lse_index(p, sp, row, hh)], lse);
      if (w > 0.f) {  // a split that saw no key may hold no output
        const float* o = ws + split_out_index(p, sp, row, hh) + c;
        a0 += w * o[0];
        a1 += w * o[1];
      }
    }
    store_pair<kOutDtype>(out + c * (kOutDtype == kF32 ? 4 : 2), a0, a1);
  }
  if (lane == 0 && p.lse) p.lse[lse_offset(p, s, b, r, hh)] = lse;
}

#endif  // FA3JIT_DEVICE_CODE

}  // namespace fa3jit_k
