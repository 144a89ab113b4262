#include "validate/metadata_checks.h"

#include <algorithm>
#include <optional>

#include "kernels/common/seqinfo.cuh"
#include "validate/check_util.h"

namespace fa3jit::detail {
namespace {

// Keys the pages of one sequence can hold.
int64_t page_capacity(const Layout& L) { return int64_t(L.max_pages_per_seq) * L.page_size; }
const char* kCapacityName = "page_table.shape[1] * page_size";

std::optional<int> given(const std::optional<int64_t>& v, const char* name) {
  if (!v) return std::nullopt;
  return to_int(*v, name);
}

// Offsets: start at 0, non-decreasing, last <= rows (rows < 0: no bound).
void check_offsets(const std::vector<int32_t>& cu, const char* name, int64_t rows, const char* rows_name) {
  if (cu.empty()) return;
  if (cu[0] != 0) fail(ErrorKind::InvalidValue, name, "[0] must be 0: got ", cu[0]);
  for (size_t i = 1; i < cu.size(); ++i)
    if (cu[i] < cu[i - 1])
      fail(ErrorKind::InvalidValue, name, " must be non-decreasing: ", name, "[", i, "] = ", cu[i], " < ", name,
           "[", i - 1, "] = ", cu[i - 1]);
  if (rows >= 0 && cu.back() > rows)
    fail(ErrorKind::InvalidValue, name, "[", cu.size() - 1, "] = ", cu.back(), " must be <= ", rows_name, " = ",
         rows);
}

void check_paged_lengths(const std::vector<int32_t>& cu, const Layout& L) {
  for (size_t b = 0; b + 1 < cu.size(); ++b)
    if (int64_t(cu[b + 1]) - cu[b] > page_capacity(L))
      fail(ErrorKind::InvalidValue, "cu_seqlens_k gives sequence ", b, " ", int64_t(cu[b + 1]) - cu[b],
           " keys, more than ", kCapacityName, " = ", page_capacity(L), " (the keys its pages hold)");
}

// used[b] in [0, capacity(b)].
template <class Capacity>
void check_used(const std::vector<int32_t>& used, const char* name, Capacity capacity, const char* capacity_name) {
  for (size_t b = 0; b < used.size(); ++b) {
    const int64_t cap = capacity(int(b));
    if (used[b] < 0 || used[b] > cap)
      fail(ErrorKind::InvalidValue, name, "[", b, "] = ", used[b], " must be in [0, ", cap, "] (sequence ", b,
           "'s length, from ", capacity_name, ")");
  }
}

// Checks that need no metadata values: fixed lengths against the bounds.
void check_fixed_lengths(const VarlenArgs& a, const Layout& L, std::optional<int> max_q, std::optional<int> max_k) {
  if (L.q_is_4d && !a.seqused_q.defined() && max_q && *max_q < L.s_q)
    fail(ErrorKind::InvalidValue, "max_seqlen_q = ", *max_q, " is less than q's fixed length s_q = q.shape[1] = ",
         L.s_q);
  if (L.k_is_4d && !a.seqused_k.defined() && max_k && *max_k < L.s_k)
    fail(ErrorKind::InvalidValue, "max_seqlen_k = ", *max_k, " is less than k's fixed length s_k = k.shape[1] = ",
         L.s_k);
  if (L.paged && !a.cu_seqlens_k.defined() && !a.seqused_k.defined() && max_k && *max_k > page_capacity(L))
    fail(ErrorKind::InvalidValue, "max_seqlen_k = ", *max_k, " must be <= ", kCapacityName, " = ",
         page_capacity(L), ": with page_table and neither cu_seqlens_k nor seqused_k, every sequence has "
         "max_seqlen_k keys");
}

// Host params that seq_info reads: the metadata pointers at the host copies.
fa3jit_k::AttnParams host_seq_params(const VarlenArgs& a, const Layout& L, const HostMetadata& m,
                                     std::optional<int> max_k) {
  static const int kNoPages = 0;
  fa3jit_k::AttnParams p{};
  p.batch = L.batch;
  p.max_seqlen_q = L.s_q;
  p.max_seqlen_k = L.paged ? max_k.value_or(int(page_capacity(L))) : L.s_k;
  p.cu_seqlens_q = a.cu_seqlens_q.defined() ? m.cu_seqlens_q.data() : nullptr;
  p.cu_seqlens_k = a.cu_seqlens_k.defined() ? m.cu_seqlens_k.data() : nullptr;
  p.seqused_q = a.seqused_q.defined() ? m.seqused_q.data() : nullptr;
  p.seqused_k = a.seqused_k.defined() ? m.seqused_k.data() : nullptr;
  p.page_table = L.paged ? &kNoPages : nullptr;  // seq_info only tests it; pages come from m
  return p;
}

void check_pages(const HostMetadata& m, const Layout& L, int b, int seqlen_k) {
  const int64_t used_pages = (int64_t(seqlen_k) + L.page_size - 1) / L.page_size;
  for (int j = 0; j < used_pages; ++j) {
    const int page = m.page(b, j);
    if (page < 0 || page >= L.num_pages)
      fail(ErrorKind::InvalidValue, "page_table[", b, "][", j, "] = ", page, " must be in [0, ", L.num_pages,
           ") (k has ", L.num_pages, " pages): sequence ", b, " uses its first ", used_pages,
           " pages (", seqlen_k, " keys, page_size ", L.page_size, ")");
  }
}

}  // namespace

SeqLimits check_sequences(const VarlenArgs& a, const Layout& L, const HostMetadata& m) {
  const std::optional<int> max_q = given(a.max_seqlen_q, "max_seqlen_q");
  const std::optional<int> max_k = given(a.max_seqlen_k, "max_seqlen_k");
  check_fixed_lengths(a, L, max_q, max_k);

  int longest_q = 0, longest_k = 0;
  if (m.readable) {
    const auto& cq = m.cu_seqlens_q;
    const auto& ck = m.cu_seqlens_k;
    check_offsets(cq, "cu_seqlens_q", L.total_q, "q.shape[0] (total_q)");
    check_offsets(ck, "cu_seqlens_k", L.paged ? -1 : L.total_k, "k.shape[0] (total_k)");
    if (L.paged) check_paged_lengths(ck, L);
    const bool varlen_k = a.cu_seqlens_k.defined();
    check_used(m.seqused_q, "seqused_q",
               [&](int b) { return L.q_is_4d ? int64_t(L.s_q) : int64_t(cq[b + 1]) - cq[b]; },
               L.q_is_4d ? "q.shape[1]" : "cu_seqlens_q");
    check_used(m.seqused_k, "seqused_k",
               [&](int b) {
                 return varlen_k ? int64_t(ck[b + 1]) - ck[b] : L.paged ? page_capacity(L) : int64_t(L.s_k);
               },
               varlen_k ? "cu_seqlens_k" : L.paged ? kCapacityName : "k.shape[1]");

    const fa3jit_k::AttnParams hp = host_seq_params(a, L, m, max_k);
    for (int b = 0; b < L.batch; ++b) {
      const fa3jit_k::SeqInfo s = fa3jit_k::seq_info(hp, b);
      if (max_q && s.seqlen_q > *max_q)
        fail(ErrorKind::InvalidValue, "sequence ", b, " has ", s.seqlen_q, " queries, more than max_seqlen_q = ",
             *max_q);
      if (max_k && s.seqlen_k > *max_k)
        fail(ErrorKind::InvalidValue, "sequence ", b, " has ", s.seqlen_k, " keys, more than max_seqlen_k = ",
             *max_k);
      if (L.paged) check_pages(m, L, b, s.seqlen_k);
      longest_q = std::max(longest_q, s.seqlen_q);
      longest_k = std::max(longest_k, s.seqlen_k);
    }
  }

  SeqLimits lim;
  if (L.q_is_4d) {
    lim.max_seqlen_q = L.s_q;
  } else if (max_q || m.readable) {
    lim.max_seqlen_q = max_q.value_or(longest_q);
  } else {
    fail(ErrorKind::InvalidValue, "max_seqlen_q is required when cu_seqlens_q is on ", device_name(a.q.device),
         " and check_metadata is false (the lengths cannot be read to find the longest)");
  }
  const bool fixed_paged = L.paged && !a.cu_seqlens_k.defined() && !a.seqused_k.defined();
  if (L.k_is_4d) {
    lim.max_seqlen_k = L.s_k;
  } else if (max_k) {
    lim.max_seqlen_k = *max_k;
  } else if (m.readable && !fixed_paged) {
    lim.max_seqlen_k = longest_k;
  } else if (L.paged) {
    lim.max_seqlen_k = int(page_capacity(L));  // every paged sequence fits in its pages
  } else {
    fail(ErrorKind::InvalidValue, "max_seqlen_k is required when cu_seqlens_k is on ", device_name(a.q.device),
         " and check_metadata is false (the lengths cannot be read to find the longest)");
  }
  return lim;
}

}  // namespace fa3jit::detail
