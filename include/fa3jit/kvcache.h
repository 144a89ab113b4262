// The decode entry point flash_attn_with_kvcache: sglang's FlashAttention-3
// signature (same names, order and defaults), filled with designated
// initializers:
//   fa3jit::KvcacheArgs a{.q = q, .k_cache = kc, .v_cache = vc, .k = k_new, .v = v_new,
//                         .cache_seqlens = lens, .page_table = pages, .causal = true};
//   fa3jit::VarlenResult r = fa3jit::flash_attn_with_kvcache(a, stream);
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <variant>

#include "fa3jit/args.h"
#include "fa3jit/tensor.h"

namespace fa3jit {

// cache_seqlens: none (every sequence holds its whole cache row / page
// list), one length for every sequence, or int32 (b).
using CacheSeqlens = std::variant<std::monostate, int64_t, Tensor>;

struct KvcacheArgs {
  Tensor q{};        // (b, s_q, h, d) or (total_q, h, d) with cu_seqlens_q
  Tensor k_cache{};  // (b_cache, s_cache, h_k, d) or paged (num_pages, page_size, h_k, d)
  Tensor v_cache{};  // like k_cache with dv
  // New tokens, written into the cache in place before attending: token j of
  // sequence b goes to position cache_seqlens[b] + j of its cache row.
  Tensor k{};   // (b, s_new, h_k, d) or (total_new, h_k, d) with cu_seqlens_k_new
  Tensor v{};   // like k with dv
  Tensor qv{};  // (.., h, dv): MLA
  // Rotary embedding of the new k (position cache_seqlens[b] + j, or
  // rotary_seqlens[b] + j) and of q (causal / local: that base + i; else
  // the base for every query), on the first rotary_dim = 2 * shape[1] dims.
  Tensor rotary_cos{};  // (seqlen_ro, rotary_dim / 2), q's dtype
  Tensor rotary_sin{};
  // Tokens in the cache before the append, counted from the row's start
  // (the left padding included, as in FlashAttention-3).
  CacheSeqlens cache_seqlens{};
  Tensor cache_batch_idx{};   // int32 (b): cache row of sequence b (not with page_table)
  Tensor cache_leftpad{};     // int32 (b): keys before it are padding (not with page_table)
  Tensor page_table{};        // int32 (b, max_pages_per_seq)
  Tensor cu_seqlens_q{};      // int32 (b + 1)
  Tensor cu_seqlens_k_new{};  // int32 (b + 1): varlen k / v
  std::optional<int64_t> max_seqlen_q{};
  Tensor rotary_seqlens{};                       // int32 (b): rotary base positions (default cache_seqlens)
  Tensor q_descale{}, k_descale{}, v_descale{};  // fp32 (b, h_k)
  std::optional<float> softmax_scale{};
  bool causal = false;
  std::array<int, 2> window_size{-1, -1};
  std::optional<int> attention_chunk{};  // none = 0 = off
  float softcap = 0.0f;
  bool rotary_interleaved = true;  // pairs (0, 1), (2, 3), ...; false: halves (i, i + rotary_dim / 2)
  Tensor scheduler_metadata{};     // get_scheduler_metadata's plan (host int32 (4,)): run with its splits / pack_gqa
  int num_splits = 0;              // 0 = auto; fix it (> 0) for CUDA-graph capture
  std::optional<bool> pack_gqa{};
  bool only_qv = false;
  int sm_margin = 0;
  bool return_softmax_lse = false;
  Tensor sinks{};
  Tensor out{};

  // Beyond the signature, as in VarlenArgs.
  Tensor softmax_lse{};
  // As VarlenArgs::workspace; on a GPU it also holds the step's own scratch
  // (the key lengths after an append, the rotated q) ahead of the split-KV
  // partials, so a decode step allocates nothing.
  Tensor workspace{};
  KernelPath path = KernelPath::Auto;
  // On a GPU, reading the int32 metadata to check it costs a copy and a
  // stream sync; serving loops and CUDA-graph capture set it false.
  bool check_metadata = true;
};

// Appends k / v (with rotary) into the caches, then attends q (rotated when
// rotary is given; q itself is never written) over each sequence's keys
// [cache_leftpad[b], cache_seqlens[b] + new tokens). No host sync unless
// check_metadata; capturable into a CUDA graph. Every argument is checked
// before anything is written.
VarlenResult flash_attn_with_kvcache(const KvcacheArgs& args, void* stream = nullptr);

// The words of a scheduler_metadata tensor: a marker, the format version,
// num_splits and pack_gqa (0 / 1).
constexpr int32_t kSchedulerMetadataMarker = 0x6661336a;  // "fa3j"
constexpr int32_t kSchedulerMetadataVersion = 1;
using SchedulerMetadata = std::array<int32_t, 4>;

// The split plan flash_attn_with_kvcache(args) would run (num_splits and
// pack_gqa resolved from the shapes, the lengths and the device), as the
// words of a scheduler_metadata tensor (host memory, int32, shape (4,)). A
// later call given that tensor runs that plan whatever its lengths, so a
// serving loop or a captured CUDA graph keeps one plan. Checks the
// arguments as the call would; appends and writes nothing. With GPU
// metadata and no max_seqlen_q / known key lengths it reads them back
// (one copy and stream sync): call it outside the captured region.
SchedulerMetadata get_scheduler_metadata(const KvcacheArgs& args, void* stream = nullptr);

// Bytes of `workspace` flash_attn_with_kvcache(args) needs: its append /
// rotary scratch (256-byte aligned) plus the split-KV partials (0 when it does
// not split on a GPU); checks as get_scheduler_metadata does.
int64_t split_workspace_bytes(const KvcacheArgs& args, void* stream = nullptr);

}  // namespace fa3jit
