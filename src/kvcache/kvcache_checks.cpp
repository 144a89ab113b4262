// check_kvcache_args: the rules of flash_attn_with_kvcache's arguments that
// the varlen validation does not know (new tokens, rotary, cache rows, left
// padding), named as the caller named them. The attention arguments shared
// with flash_attn_varlen (qv, descales, sinks, out, masks, ...) are checked
// afterwards by validate_varlen_args.
#include <utility>

#include "kvcache/kvcache_layout.h"
#include "validate/check_util.h"

namespace fa3jit::detail {
namespace {

const Tensor* seqlens_tensor(const KvcacheArgs& a) { return std::get_if<Tensor>(&a.cache_seqlens); }

void check_presence(const KvcacheArgs& a) {
  for (auto [name, t] : {std::pair{"q", &a.q}, std::pair{"k_cache", &a.k_cache}, std::pair{"v_cache", &a.v_cache}})
    if (!t->defined()) fail(ErrorKind::InvalidValue, name, " is required: got none");
  if (a.k.defined() != a.v.defined())
    fail(ErrorKind::InvalidValue, a.k.defined() ? "k is given but v is none" : "v is given but k is none",
         ": new keys and values are appended together");
  if (a.rotary_cos.defined() != a.rotary_sin.defined())
    fail(ErrorKind::InvalidValue,
         a.rotary_cos.defined() ? "rotary_cos is given but rotary_sin is none"
                                : "rotary_sin is given but rotary_cos is none",
         ": rotary needs both");
  if (a.cu_seqlens_k_new.defined() && !a.k.defined())
    fail(ErrorKind::InvalidValue, "cu_seqlens_k_new is given but k is none: it describes the new tokens k / v");
  if (a.rotary_cos.defined() && !a.k.defined())
    fail(ErrorKind::InvalidValue,
         "rotary_cos / rotary_sin need k / v: rotary is applied to the appended keys "
         "(and q) as in FlashAttention-3");
  if (a.rotary_seqlens.defined() && !a.rotary_cos.defined())
    fail(ErrorKind::InvalidValue, "rotary_seqlens is given but rotary_cos is none: it sets rotary positions");
  if (a.k.defined() && std::holds_alternative<std::monostate>(a.cache_seqlens))
    fail(ErrorKind::InvalidValue,
         "cache_seqlens is required when k / v are appended: they go to positions "
         "cache_seqlens[b] + j");
  if (a.page_table.defined() && a.cache_batch_idx.defined())
    fail(ErrorKind::NotSupported,
         "cache_batch_idx with page_table is not supported (as in FlashAttention-3): "
         "the page table already maps each sequence to its cache");
  if (a.page_table.defined() && a.cache_leftpad.defined())
    fail(ErrorKind::NotSupported, "cache_leftpad with page_table is not supported (as in FlashAttention-3)");
  if (a.attention_chunk && *a.attention_chunk < 0)
    fail(ErrorKind::InvalidValue, "attention_chunk = ", *a.attention_chunk, " must be >= 0 (none or 0 = off)");
}

// Every given tensor: well formed, on q's device, with data.
void check_devices(const KvcacheArgs& a) {
  const std::pair<const char*, const Tensor*> all[] = {{"k_cache", &a.k_cache},
                                                       {"v_cache", &a.v_cache},
                                                       {"k", &a.k},
                                                       {"v", &a.v},
                                                       {"rotary_cos", &a.rotary_cos},
                                                       {"rotary_sin", &a.rotary_sin},
                                                       {"cache_seqlens", seqlens_tensor(a)},
                                                       {"cache_batch_idx", &a.cache_batch_idx},
                                                       {"cache_leftpad", &a.cache_leftpad},
                                                       {"page_table", &a.page_table},
                                                       {"cu_seqlens_q", &a.cu_seqlens_q},
                                                       {"cu_seqlens_k_new", &a.cu_seqlens_k_new},
                                                       {"rotary_seqlens", &a.rotary_seqlens}};
  check_well_formed(a.q, "q");
  for (auto [name, t] : all) {
    if (!t || !t->defined()) continue;
    check_well_formed(*t, name);
    if (!(t->device == a.q.device))
      fail(ErrorKind::InvalidValue, name, " is on ", device_name(t->device), " but q is on ", device_name(a.q.device),
           ": every tensor must be on the same device");
    check_data(*t, name);
  }
}

// An int32 (n,) contiguous vector when given.
void check_int_vector(const Tensor* t, const char* name, int64_t n, const std::string& what) {
  if (!t || !t->defined()) return;
  check_dtype(*t, name, DType::i32, "");
  check_rank(*t, name, 1, "(" + what + ",)");
  check_dim(*t, name, 0, n, what);
  check_contiguous(*t, name);
}

void read_q(const KvcacheArgs& a, KvcacheLayout& L) {
  L.q_is_4d = !a.cu_seqlens_q.defined();
  if (L.q_is_4d) {
    check_rank(a.q, "q", 4, "(b, s_q, h, d) when cu_seqlens_q is none");
    L.batch = to_int(a.q.shape[0], "q.shape[0] (b)");
    L.s_q = to_int(a.q.shape[1], "q.shape[1] (s_q)");
    L.total_q = to_int(a.q.shape[0] * a.q.shape[1], "b * s_q (q's rows)");
  } else {
    check_rank(a.q, "q", 3, "(total_q, h, d) when cu_seqlens_q is given");
    check_dtype(a.cu_seqlens_q, "cu_seqlens_q", DType::i32, "");
    check_rank(a.cu_seqlens_q, "cu_seqlens_q", 1, "(b + 1,)");
    check_contiguous(a.cu_seqlens_q, "cu_seqlens_q");
    if (a.cu_seqlens_q.shape[0] < 1)
      fail(ErrorKind::InvalidValue, "cu_seqlens_q must have b + 1 >= 1 entries: got shape (0,)");
    L.batch = to_int(a.cu_seqlens_q.shape[0] - 1, "cu_seqlens_q.shape[0] - 1 (b)");
    L.total_q = to_int(a.q.shape[0], "q.shape[0] (total_q)");
  }
  L.h = to_int(a.q.size(-2), "q.shape[-2] (h)");
  L.d = to_int(a.q.size(-1), "q.shape[-1] (d)");
  check_last_stride(a.q, "q");
}

void read_caches(const KvcacheArgs& a, KvcacheLayout& L) {
  const DType t = a.q.dtype;
  check_dtype(a.k_cache, "k_cache", t, "the dtype of q");
  check_dtype(a.v_cache, "v_cache", t, "the dtype of q");
  L.paged = a.page_table.defined();
  const char* kl = L.paged ? "(num_pages, page_size, h_k, d) with page_table" : "(b_cache, s_cache, h_k, d)";
  const char* vl = L.paged ? "(num_pages, page_size, h_k, dv) with page_table" : "(b_cache, s_cache, h_k, dv)";
  check_rank(a.k_cache, "k_cache", 4, kl);
  check_rank(a.v_cache, "v_cache", 4, vl);
  check_last_stride(a.k_cache, "k_cache");
  check_last_stride(a.v_cache, "v_cache");
  L.h_k = to_int(a.k_cache.shape[2], "k_cache.shape[2] (h_k)");
  if (L.h_k < 1 || L.h % L.h_k != 0)
    fail(ErrorKind::InvalidValue, "q's heads h = ", L.h, " must be a multiple of k_cache's heads h_k = ", L.h_k,
         " (GQA / MQA)");
  check_dim(a.k_cache, "k_cache", 3, L.d, "q's head dim d");
  L.dv = to_int(a.v_cache.shape[3], "v_cache.shape[3] (dv)");
  check_dim(a.v_cache, "v_cache", 0, a.k_cache.shape[0], L.paged ? "k_cache's num_pages" : "k_cache's b_cache");
  check_dim(a.v_cache, "v_cache", 1, a.k_cache.shape[1], L.paged ? "k_cache's page_size" : "k_cache's s_cache");
  check_dim(a.v_cache, "v_cache", 2, L.h_k, "k_cache's h_k");
  if (L.paged) {
    check_dtype(a.page_table, "page_table", DType::i32, "");
    check_rank(a.page_table, "page_table", 2, "(b, max_pages_per_seq)");
    check_dim(a.page_table, "page_table", 0, L.batch, "b, the batch of q");
    check_last_stride(a.page_table, "page_table");
    L.num_pages = to_int(a.k_cache.shape[0], "k_cache.shape[0] (num_pages)");
    L.page_size = to_int(a.k_cache.shape[1], "k_cache.shape[1] (page_size)");
    if (L.page_size < 1) fail(ErrorKind::InvalidValue, "k_cache.shape[1] (page_size) must be >= 1");
    L.max_pages_per_seq = to_int(a.page_table.shape[1], "page_table.shape[1] (max_pages_per_seq)");
    L.capacity = int64_t(L.max_pages_per_seq) * L.page_size;
  } else {
    L.b_cache = to_int(a.k_cache.shape[0], "k_cache.shape[0] (b_cache)");
    L.s_cache = to_int(a.k_cache.shape[1], "k_cache.shape[1] (s_cache)");
    if (!a.cache_batch_idx.defined())
      check_dim(a.k_cache, "k_cache", 0, L.batch,
                "b, the batch of q, when "
                "cache_batch_idx is none");
    L.capacity = L.s_cache;
  }
  to_int(L.capacity, "the keys a cache row holds");
}

void read_new_tokens(const KvcacheArgs& a, KvcacheLayout& L) {
  L.append = a.k.defined();
  if (!L.append) return;
  check_dtype(a.k, "k", a.q.dtype, "the dtype of q");
  check_dtype(a.v, "v", a.q.dtype, "the dtype of q");
  L.new_is_4d = !a.cu_seqlens_k_new.defined();
  const int r = L.new_is_4d ? 4 : 3;
  const char* kl =
      L.new_is_4d ? "(b, s_new, h_k, d) when cu_seqlens_k_new is none" : "(total_new, h_k, d) with cu_seqlens_k_new";
  const char* vl =
      L.new_is_4d ? "(b, s_new, h_k, dv) when cu_seqlens_k_new is none" : "(total_new, h_k, dv) with cu_seqlens_k_new";
  check_rank(a.k, "k", r, kl);
  check_rank(a.v, "v", r, vl);
  if (L.new_is_4d) {
    check_dim(a.k, "k", 0, L.batch, "b, the batch of q");
    L.s_new = to_int(a.k.shape[1], "k.shape[1] (s_new)");
    L.total_new = to_int(a.k.shape[0] * a.k.shape[1], "b * s_new (new tokens)");
  } else {
    check_int_vector(&a.cu_seqlens_k_new, "cu_seqlens_k_new", int64_t(L.batch) + 1, "b + 1");
    L.total_new = to_int(a.k.shape[0], "k.shape[0] (total_new)");
  }
  for (int i = 0; i + 2 < r; ++i) check_dim(a.v, "v", i, a.k.shape[i], "k's");
  check_dim(a.k, "k", r - 2, L.h_k, "k_cache's h_k");
  check_dim(a.v, "v", r - 2, L.h_k, "k_cache's h_k");
  check_dim(a.k, "k", r - 1, L.d, "q's head dim d");
  check_dim(a.v, "v", r - 1, L.dv, "v_cache's head dim dv");
  check_last_stride(a.k, "k");
  check_last_stride(a.v, "v");
}

void read_rotary(const KvcacheArgs& a, KvcacheLayout& L) {
  if (!a.rotary_cos.defined()) return;
  const DType t = a.q.dtype;
  if (t == DType::fp8_e4m3)
    fail(ErrorKind::NotSupported,
         "rotary_cos / rotary_sin with float8_e4m3 q is not supported: rotate before "
         "quantizing");
  check_dtype(a.rotary_cos, "rotary_cos", t, "the dtype of q");
  check_dtype(a.rotary_sin, "rotary_sin", t, "the dtype of q");
  check_rank(a.rotary_cos, "rotary_cos", 2, "(seqlen_ro, rotary_dim / 2)");
  check_rank(a.rotary_sin, "rotary_sin", 2, "(seqlen_ro, rotary_dim / 2)");
  check_dim(a.rotary_sin, "rotary_sin", 0, a.rotary_cos.shape[0], "rotary_cos's seqlen_ro");
  check_dim(a.rotary_sin, "rotary_sin", 1, a.rotary_cos.shape[1], "rotary_cos's rotary_dim / 2");
  check_last_stride(a.rotary_cos, "rotary_cos");
  check_last_stride(a.rotary_sin, "rotary_sin");
  L.seqlen_ro = to_int(a.rotary_cos.shape[0], "rotary_cos.shape[0] (seqlen_ro)");
  L.rotary_dim = to_int(2 * a.rotary_cos.shape[1], "rotary_dim = 2 * rotary_cos.shape[1]");
  if (L.rotary_dim < 2 || L.rotary_dim > L.d)
    fail(ErrorKind::InvalidValue, "rotary_dim = 2 * rotary_cos.shape[1] = ", L.rotary_dim, " must be in [2, d = ", L.d,
         "]");
}

}  // namespace

SchedulerMetadata check_scheduler_metadata(const KvcacheArgs& a) {
  const Tensor& t = a.scheduler_metadata;
  const char* name = "scheduler_metadata";
  check_dtype(t, name, DType::i32, "the plan get_scheduler_metadata returns");
  check_rank(t, name, 1, "(4,): the plan get_scheduler_metadata returns");
  check_dim(t, name, 0, 4, "the words of the plan");
  if (t.device.type != DeviceType::CPU)
    fail(ErrorKind::InvalidValue, "scheduler_metadata must be in host memory (the plan get_scheduler_metadata "
                                  "returns is read on the host at each call): got a ", device_name(t.device), " tensor");
  check_data(t, name);
  SchedulerMetadata w{};
  for (int i = 0; i < 4; ++i) w[size_t(i)] = static_cast<const int32_t*>(t.data)[i * t.stride[0]];
  if (w[0] != kSchedulerMetadataMarker || w[1] != kSchedulerMetadataVersion)
    fail(ErrorKind::InvalidValue, "scheduler_metadata is not a plan of get_scheduler_metadata (format ",
         kSchedulerMetadataVersion, "): its first words are ", w[0], ", ", w[1]);
  if (w[2] < 1 || (w[3] != 0 && w[3] != 1))
    fail(ErrorKind::InvalidValue, "scheduler_metadata holds num_splits = ", w[2], " and pack_gqa = ", w[3],
         ": want num_splits >= 1 and pack_gqa 0 or 1");
  if (a.num_splits != 0 && a.num_splits != w[2])
    fail(ErrorKind::InvalidValue, "num_splits = ", a.num_splits, " disagrees with scheduler_metadata's plan (num_splits = ",
         w[2], "): pass 0 (the plan's) or ", w[2]);
  if (a.pack_gqa.has_value() && int(*a.pack_gqa) != w[3])
    fail(ErrorKind::InvalidValue, "pack_gqa = ", *a.pack_gqa ? "true" : "false",
         " disagrees with scheduler_metadata's plan (pack_gqa = ", w[3] ? "true" : "false", "): pass none or that");
  return w;
}

KvcacheLayout check_kvcache_args(const KvcacheArgs& a) {
  check_presence(a);
  check_devices(a);
  KvcacheLayout L;
  read_q(a, L);
  read_caches(a, L);
  read_new_tokens(a, L);
  read_rotary(a, L);
  L.rotary_q_per_row = a.causal || a.window_size[0] >= 0 || a.window_size[1] >= 0 || a.attention_chunk.value_or(0) > 0;
  check_int_vector(seqlens_tensor(a), "cache_seqlens", L.batch, "b");
  check_int_vector(&a.cache_batch_idx, "cache_batch_idx", L.batch, "b");
  check_int_vector(&a.cache_leftpad, "cache_leftpad", L.batch, "b");
  check_int_vector(&a.rotary_seqlens, "rotary_seqlens", L.batch, "b");
  if (const int64_t* n = std::get_if<int64_t>(&a.cache_seqlens); n && (*n < 0 || *n > L.capacity))
    fail(ErrorKind::InvalidValue, "cache_seqlens = ", *n, " must be in [0, ", L.capacity, "] (the keys a cache ",
         L.paged ? "row's pages hold: page_table.shape[1] * page_size)" : "row holds: k_cache.shape[1])");
  if (a.max_seqlen_q && *a.max_seqlen_q < 0)
    fail(ErrorKind::InvalidValue, "max_seqlen_q = ", *a.max_seqlen_q, " must be >= 0");
  return L;
}

}  // namespace fa3jit::detail
