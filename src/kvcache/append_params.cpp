#include <variant>

#include "kvcache/append_step.h"
#include "validate/row_strides.h"

namespace fa3jit::detail {

fa3jit_k::AppendParams make_append_params(const KvcacheArgs& a, const KvcacheLayout& L, void* q_rot, int* seqused_k) {
  fa3jit_k::AppendParams p{};
  p.batch = L.batch, p.h = L.h, p.h_k = L.h_k, p.d = L.d, p.dv = L.dv;
  p.in_dtype = int(a.q.dtype);

  const RowStrides q = row_strides_of(a.q);
  p.q = a.q.data;
  p.q_batch_stride = q.batch, p.q_row_stride = q.row, p.q_head_stride = q.head;
  p.cu_seqlens_q = static_cast<const int*>(a.cu_seqlens_q.data);
  p.s_q = L.s_q, p.total_q = L.total_q;
  p.q_rot = q_rot;

  if (L.append) {
    const RowStrides k = row_strides_of(a.k), v = row_strides_of(a.v);
    p.k_new = a.k.data;
    p.kn_batch_stride = k.batch, p.kn_row_stride = k.row, p.kn_head_stride = k.head;
    p.v_new = a.v.data;
    p.vn_batch_stride = v.batch, p.vn_row_stride = v.row, p.vn_head_stride = v.head;
    p.cu_seqlens_k_new = static_cast<const int*>(a.cu_seqlens_k_new.data);
    p.s_new = L.s_new, p.total_new = L.total_new;
  }

  const RowStrides kc = row_strides_of(a.k_cache), vc = row_strides_of(a.v_cache);
  p.k_cache = a.k_cache.data;
  p.kc_batch_stride = kc.batch, p.kc_row_stride = kc.row, p.kc_head_stride = kc.head;
  p.v_cache = a.v_cache.data;
  p.vc_batch_stride = vc.batch, p.vc_row_stride = vc.row, p.vc_head_stride = vc.head;
  p.page_table = L.paged ? static_cast<const int*>(a.page_table.data) : nullptr;
  p.page_table_stride = L.paged ? a.page_table.stride[0] : 0;
  p.page_size = L.page_size;
  p.cache_batch_idx = static_cast<const int*>(a.cache_batch_idx.data);
  if (const Tensor* t = std::get_if<Tensor>(&a.cache_seqlens)) {
    p.cache_seqlens = static_cast<const int*>(t->data);
  } else if (const int64_t* n = std::get_if<int64_t>(&a.cache_seqlens)) {
    p.cache_seqlens_value = int(*n);
  } else {
    p.cache_seqlens_value = int(L.capacity);  // none: the whole row
  }

  if (L.rotary_dim > 0) {
    p.rotary_cos = a.rotary_cos.data;
    p.rotary_sin = a.rotary_sin.data;
    p.cos_row_stride = a.rotary_cos.stride[0];
    p.sin_row_stride = a.rotary_sin.stride[0];
    p.rotary_dim = L.rotary_dim;
    p.rotary_interleaved = a.rotary_interleaved ? 1 : 0;
    p.rotary_seqlens = static_cast<const int*>(a.rotary_seqlens.data);
    p.q_rotary_per_row = L.rotary_q_per_row ? 1 : 0;
  }
  p.seqused_k = seqused_k;
  return p;
}

}  // namespace fa3jit::detail
