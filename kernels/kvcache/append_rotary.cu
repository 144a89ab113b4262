// The append + rotary kernel of flash_attn_with_kvcache (see append.cuh).
// Blocks [0, total_new): new token t: k (rotated) and v into the cache, all
// kv-heads. Blocks [total_new, total_new + total_q) with rotary: query row
// r rotated into q_rot, all heads. The last block: seqused_k.
#include "../common/dtypes.cuh"
#include "../common/rotary.cuh"
#include "append.cuh"

namespace fa3jit_k {

// Storage word of one element: fp16 / bf16 16 bits, fp8 a byte.
template <int kDtype>
struct Elem {
  using Raw = uint16_t;
};
template <>
struct Elem<kFP8E4M3> {
  using Raw = uint8_t;
};

template <int kDtype>
__device__ __forceinline__ float load_elem(const void* base, int64_t i) {
  return half_to_float<kDtype>(static_cast<const uint16_t*>(base)[i]);
}

// Copies dims [0, dim) of one head from src to dst; dims below rotary_dim
// rotate by the angles of cos / sin row `pos` (rotary_dim == 0: plain copy).
template <int kDtype>
__device__ __forceinline__ void copy_head(const AppendParams& p, const void* src, int64_t s_off, void* dst,
                                          int64_t d_off, int dim, int rotary_dim, int pos) {
  using Raw = typename Elem<kDtype>::Raw;
  for (int e = threadIdx.x; e < dim; e += blockDim.x) {
    if (e >= rotary_dim) {
      static_cast<Raw*>(dst)[d_off + e] = static_cast<const Raw*>(src)[s_off + e];
      continue;
    }
    if constexpr (kDtype == kF16 || kDtype == kBF16) {
      const RotaryPair pr = rotary_pair(e, rotary_dim, p.rotary_interleaved != 0);
      const float c = load_elem<kDtype>(p.rotary_cos, pos * p.cos_row_stride + pr.angle);
      const float s = load_elem<kDtype>(p.rotary_sin, pos * p.sin_row_stride + pr.angle);
      const float y =
          rotary_value(load_elem<kDtype>(src, s_off + e), load_elem<kDtype>(src, s_off + pr.partner), c, s, pr.first);
      store_one<kDtype>(static_cast<Raw*>(dst) + d_off + e, y);
    }
  }
}

template <int kDtype>
__global__ void __launch_bounds__(128) append_rotary(const __grid_constant__ AppendParams p) {
  const int blk = int(blockIdx.x);
  if (blk < p.total_new) {
    int j;
    const int b = locate_row(p.cu_seqlens_k_new, p.batch, p.s_new, blk, &j);
    if (j >= new_tokens(p, b)) return;  // a row past the last sequence
    const int pos = cached_tokens(p, b) + j;
    const int rpos = rotary_base(p, b) + j;
    for (int hk = 0; hk < p.h_k; ++hk) {
      const CacheSlot slot = cache_slot(p, b, pos, hk);
      copy_head<kDtype>(p, p.k_new, k_new_offset(p, b, j, hk), p.k_cache, slot.k, p.d, p.rotary_dim, rpos);
      copy_head<kDtype>(p, p.v_new, v_new_offset(p, b, j, hk), p.v_cache, slot.v, p.dv, 0, 0);
    }
    return;
  }
  const int r = blk - p.total_new;
  if (p.q_rot && r < p.total_q) {
    int i;
    const int b = locate_row(p.cu_seqlens_q, p.batch, p.s_q, r, &i);
    const int rows = p.cu_seqlens_q ? p.cu_seqlens_q[b + 1] - p.cu_seqlens_q[b] : p.s_q;
    if (i >= rows) return;
    const int pos = q_rotary_position(p, b, i);
    for (int hh = 0; hh < p.h; ++hh)
      copy_head<kDtype>(p, p.q, q_in_offset(p, b, i, hh), p.q_rot, (int64_t(r) * p.h + hh) * p.d, p.d, p.rotary_dim,
                        pos);
    return;
  }
  if (blk == int(gridDim.x) - 1 && p.seqused_k)
    for (int b = threadIdx.x; b < p.batch; b += blockDim.x) p.seqused_k[b] = cached_tokens(p, b) + new_tokens(p, b);
}

}  // namespace fa3jit_k
