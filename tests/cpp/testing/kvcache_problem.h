// Random flash_attn_with_kvcache problems (host buffers for every argument)
// and their expected results, computed with plain loops independent of the
// library: the caches after the append (rotary on the new keys) and a
// varlen attention Problem (rotated q, each sequence's keys packed) that the
// float64 reference judges with check_against_reference.
#pragma once
#include <cstdint>
#include <vector>

#include "fa3jit/kvcache.h"
#include "testing/host_tensor.h"
#include "testing/problem.h"

namespace fa3jit::testing {

struct KvcacheConfig {
  DType dtype = DType::bf16;
  int batch = 3;
  int h = 4, h_k = 2, d = 64, dv = 64;
  std::vector<int> cache_seqlens;  // tokens before the append (incl. left padding); size batch
  std::vector<int> new_lens;       // appended tokens; empty = no k / v. 4-D k: all equal
  bool varlen_new = false;         // k / v as (total_new, h_k, d) with cu_seqlens_k_new
  std::vector<int> q_lens;         // queries per sequence; 4-D q: all equal
  bool varlen_q = false;           // q as (total_q, h, d) with cu_seqlens_q
  int s_cache = 96;                // keys a sequence can hold (dense: k_cache.shape[1])
  int page_size = 0;               // > 0: paged cache, pages scattered in a larger pool
  int extra_cache_rows = 0;        // with cache_batch_idx: b_cache = batch + this
  bool cache_batch_idx = false;    // sequence b uses a shuffled cache row
  std::vector<int> leftpad;        // cache_leftpad; empty = none
  bool seqlens_scalar = false;     // cache_seqlens as one int (all equal)
  int rotary_dim = 0;              // 0 = no rotary
  bool rotary_interleaved = true;
  std::vector<int> rotary_seqlens;  // empty = none
  bool causal = false;
  int window_left = -1, window_right = -1;
  float softcap = 0.f;
  int num_splits = 1;
  bool return_lse = true;
  uint64_t seed = 1;
};

struct KvcacheProblem {
  KvcacheConfig cfg;
  HostTensor q, k_cache, v_cache, k, v, rotary_cos, rotary_sin;
  HostTensor cache_seqlens, cache_batch_idx, cache_leftpad, page_table, cu_seqlens_q, cu_seqlens_k_new, rotary_seqlens;
  HostTensor out, lse;  // poisoned

  // Host views of every buffer (device = CPU).
  KvcacheArgs args() const;
};

KvcacheProblem make_kvcache_problem(const KvcacheConfig& cfg);

struct KvcacheExpected {
  HostTensor k_cache, v_cache;  // the whole caches after the append
  Problem attention;            // q rotated, keys packed per sequence
};

// From the problem's initial buffers (call before running it: the run
// writes the caches in place).
KvcacheExpected expected_kvcache(const KvcacheProblem& problem);

}  // namespace fa3jit::testing
