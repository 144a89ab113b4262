// The append + rotary step on host memory: the same addressing
// (kernels/kvcache/append.cuh) and rotary math (kernels/common/rotary.cuh)
// as the GPU kernel, in plain loops.
#include <cstring>

#include "../../kernels/common/rotary.cuh"
#include "common/dtype_convert.h"
#include "kvcache/append_step.h"

namespace fa3jit::detail {
namespace {
using namespace fa3jit_k;

// Dims [0, dim) of one head from src to dst, dims below rotary_dim rotated
// by cos / sin row pos.
void copy_head(const AppendParams& p, DType t, const void* src, int64_t s_off, void* dst, int64_t d_off, int dim,
               int rotary_dim, int pos) {
  const size_t es = dtype_size(t);
  for (int e = 0; e < dim; ++e) {
    if (e >= rotary_dim) {
      std::memcpy(static_cast<char*>(dst) + (d_off + e) * es, static_cast<const char*>(src) + (s_off + e) * es, es);
      continue;
    }
    const RotaryPair pr = rotary_pair(e, rotary_dim, p.rotary_interleaved != 0);
    const float c = load_as_float(p.rotary_cos, t, pos * p.cos_row_stride + pr.angle);
    const float s = load_as_float(p.rotary_sin, t, pos * p.sin_row_stride + pr.angle);
    const float y =
        rotary_value(load_as_float(src, t, s_off + e), load_as_float(src, t, s_off + pr.partner), c, s, pr.first);
    store_from_float(dst, t, d_off + e, y);
  }
}

}  // namespace

void append_on_cpu(const AppendParams& p) {
  const DType t = DType(p.in_dtype);
  for (int b = 0; b < p.batch; ++b) {
    const int cached = cached_tokens(p, b), base = rotary_base(p, b);
    for (int j = 0; j < new_tokens(p, b); ++j)
      for (int hk = 0; hk < p.h_k; ++hk) {
        const CacheSlot slot = cache_slot(p, b, cached + j, hk);
        copy_head(p, t, p.k_new, k_new_offset(p, b, j, hk), p.k_cache, slot.k, p.d, p.rotary_dim, base + j);
        copy_head(p, t, p.v_new, v_new_offset(p, b, j, hk), p.v_cache, slot.v, p.dv, 0, 0);
      }
    if (p.q_rot) {
      const int rows = p.cu_seqlens_q ? p.cu_seqlens_q[b + 1] - p.cu_seqlens_q[b] : p.s_q;
      const int64_t first = p.cu_seqlens_q ? p.cu_seqlens_q[b] : int64_t(b) * p.s_q;
      for (int i = 0; i < rows; ++i)
        for (int hh = 0; hh < p.h; ++hh)
          copy_head(p, t, p.q, q_in_offset(p, b, i, hh), p.q_rot, ((first + i) * p.h + hh) * p.d, p.d, p.rotary_dim,
                    q_rotary_position(p, b, i));
    }
    if (p.seqused_k) p.seqused_k[b] = cached + new_tokens(p, b);
  }
}

}  // namespace fa3jit::detail
