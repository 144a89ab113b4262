// read_and_check_kvcache_metadata: host copies of the int32 arguments of
// flash_attn_with_kvcache and the rules on their values. On a GPU this is
// the only read (the varlen validation then runs with check_metadata off:
// the key lengths it would read are only computed by the append step).
#include <algorithm>

#include "kvcache/kvcache_layout.h"
#include "validate/check_util.h"
#include "validate/int32_to_host.h"

namespace fa3jit::detail {
namespace {

// Host copies of the spans; on a GPU also when there are none (a captured
// stream is refused either way).
void copy_spans(const std::vector<Int32Span>& spans, const Device& dev, void* stream) {
  if (dev.type == DeviceType::CPU) return copy_int32_on_host(spans);
  if (dev.type != DeviceType::CUDA)
    fail(ErrorKind::NotSupported, "check_metadata on ", device_name(dev), ": pass check_metadata = false");
  copy_int32_from_cuda(spans, dev.index, stream, "cache_seqlens / page_table / ...");
}

void check_offsets(const std::vector<int32_t>& cu, const char* name, int64_t rows, const char* rows_name) {
  if (cu.empty()) return;
  if (cu[0] != 0) fail(ErrorKind::InvalidValue, name, "[0] must be 0: got ", cu[0]);
  for (size_t i = 1; i < cu.size(); ++i)
    if (cu[i] < cu[i - 1])
      fail(ErrorKind::InvalidValue, name, " must be non-decreasing: ", name, "[", i, "] = ", cu[i], " < ", name, "[",
           i - 1, "] = ", cu[i - 1]);
  if (cu.back() > rows)
    fail(ErrorKind::InvalidValue, name, "[", cu.size() - 1, "] = ", cu.back(), " must be <= ", rows_name, " = ", rows);
}

// Rotary positions [first, first + count) of sequence b must be rows of cos / sin.
void check_rotary_range(const KvcacheLayout& L, int b, int64_t first, int64_t count, const char* what) {
  if (count <= 0) return;
  if (first < 0 || first + count > L.seqlen_ro)
    fail(ErrorKind::InvalidValue, "sequence ", b, "'s ", what, " use rotary positions [", first, ", ", first + count,
         ") but rotary_cos / rotary_sin have seqlen_ro = ", L.seqlen_ro, " rows (the base is ",
         "rotary_seqlens[b] if given, else cache_seqlens[b])");
}

void check_sequence(const KvcacheArgs& a, const KvcacheLayout& L, const KvcacheMeta& m, int b) {
  const int64_t cached = m.cached_tokens(a, L, b), fresh = m.new_tokens(L, b), keys = cached + fresh;
  if (cached < 0) fail(ErrorKind::InvalidValue, "cache_seqlens[", b, "] = ", cached, " must be >= 0");
  if (keys > L.capacity)
    fail(ErrorKind::InvalidValue, "sequence ", b, " holds cache_seqlens[", b, "] = ", cached, " + ", fresh,
         " new tokens = ", keys, " keys, more than its cache can hold: ", L.capacity,
         L.paged ? " (page_table.shape[1] * page_size)" : " (k_cache.shape[1])");
  if (!m.cache_batch_idx.empty() && (m.cache_batch_idx[b] < 0 || m.cache_batch_idx[b] >= L.b_cache))
    fail(ErrorKind::InvalidValue, "cache_batch_idx[", b, "] = ", m.cache_batch_idx[b], " must be in [0, ", L.b_cache,
         ") (k_cache.shape[0])");
  if (!m.cache_leftpad.empty() && (m.cache_leftpad[b] < 0 || m.cache_leftpad[b] > cached))
    fail(ErrorKind::InvalidValue, "cache_leftpad[", b, "] = ", m.cache_leftpad[b], " must be in [0, cache_seqlens[", b,
         "] = ", cached, "]: cache_seqlens counts the left padding too (FlashAttention-3's convention)");
  if (a.max_seqlen_q && m.query_rows(L, b) > *a.max_seqlen_q)
    fail(ErrorKind::InvalidValue, "sequence ", b, " has ", m.query_rows(L, b),
         " queries, more than max_seqlen_q = ", *a.max_seqlen_q);
  if (L.paged) {
    const int64_t pages = (keys + L.page_size - 1) / L.page_size;
    for (int64_t j = 0; j < pages; ++j) {
      const int page = m.page_table[size_t(b * m.page_table_stride + j)];
      if (page < 0 || page >= L.num_pages)
        fail(ErrorKind::InvalidValue, "page_table[", b, "][", j, "] = ", page, " must be in [0, ", L.num_pages,
             ") (k_cache has ", L.num_pages, " pages): sequence ", b, " uses its first ", pages, " pages (", keys,
             " keys, page_size ", L.page_size, ")");
    }
  }
  if (L.rotary_dim > 0) {
    const int64_t base = m.rotary_seqlens.empty() ? cached : m.rotary_seqlens[b];
    check_rotary_range(L, b, base, fresh, "new keys");
    check_rotary_range(L, b, base, L.rotary_q_per_row ? m.query_rows(L, b) : std::min(1, m.query_rows(L, b)),
                       "queries");
  }
}

// Appending, two sequences must not share a cache row (their writes would race).
void check_distinct_rows(const std::vector<int32_t>& rows) {
  std::vector<int32_t> sorted = rows;
  std::sort(sorted.begin(), sorted.end());
  const auto dup = std::adjacent_find(sorted.begin(), sorted.end());
  if (dup == sorted.end()) return;
  const auto first = std::find(rows.begin(), rows.end(), *dup);
  const auto second = std::find(first + 1, rows.end(), *dup);
  fail(ErrorKind::InvalidValue, "cache_batch_idx[", first - rows.begin(), "] = cache_batch_idx[", second - rows.begin(),
       "] = ", *dup, ": sequences that append k / v need distinct cache rows");
}

}  // namespace

int KvcacheMeta::new_tokens(const KvcacheLayout& L, int b) const {
  if (!L.append) return 0;
  return L.new_is_4d ? L.s_new : cu_seqlens_k_new[b + 1] - cu_seqlens_k_new[b];
}
int KvcacheMeta::cached_tokens(const KvcacheArgs& a, const KvcacheLayout& L, int b) const {
  if (!cache_seqlens.empty()) return cache_seqlens[b];
  if (const int64_t* n = std::get_if<int64_t>(&a.cache_seqlens)) return int(*n);
  return int(L.capacity);
}
int KvcacheMeta::query_rows(const KvcacheLayout& L, int b) const {
  return L.q_is_4d ? L.s_q : cu_seqlens_q[b + 1] - cu_seqlens_q[b];
}

KvcacheMeta read_and_check_kvcache_metadata(const KvcacheArgs& a, const KvcacheLayout& L, void* stream) {
  KvcacheMeta m;
  if (a.q.device.type != DeviceType::CPU && !a.check_metadata) return m;
  std::vector<Int32Span> spans;
  auto whole = [&](const Tensor* t, std::vector<int32_t>& dst) {
    if (!t || !t->defined()) return;
    dst.resize(size_t(t->numel()));
    if (!dst.empty()) spans.push_back({t, 0, t->numel(), &dst});
  };
  whole(&a.cu_seqlens_q, m.cu_seqlens_q);
  whole(&a.cu_seqlens_k_new, m.cu_seqlens_k_new);
  whole(std::get_if<Tensor>(&a.cache_seqlens), m.cache_seqlens);
  whole(&a.cache_batch_idx, m.cache_batch_idx);
  whole(&a.cache_leftpad, m.cache_leftpad);
  whole(&a.rotary_seqlens, m.rotary_seqlens);
  Tensor pages;  // rows [0, b) of the page table as one span
  if (L.paged && L.batch > 0 && L.max_pages_per_seq > 0) {
    m.page_table_stride = a.page_table.stride[0];
    if (m.page_table_stride < 0)
      fail(ErrorKind::InvalidValue, "page_table's row stride must be >= 0: got ", m.page_table_stride);
    pages = a.page_table;
    m.page_table.resize(size_t((L.batch - 1) * m.page_table_stride + L.max_pages_per_seq));
    spans.push_back({&pages, 0, int64_t(m.page_table.size()), &m.page_table});
  }
  copy_spans(spans, a.q.device, stream);
  m.readable = true;

  check_offsets(m.cu_seqlens_q, "cu_seqlens_q", L.total_q, "q.shape[0] (total_q)");
  check_offsets(m.cu_seqlens_k_new, "cu_seqlens_k_new", L.total_new, "k.shape[0] (total_new)");
  for (int b = 0; b < L.batch; ++b) check_sequence(a, L, m, b);
  if (L.append) check_distinct_rows(m.cache_batch_idx);
  return m;
}

}  // namespace fa3jit::detail
