// Random attention problems (host buffers for every argument) and the check
// of an output against the float64 reference with the design's tolerance.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fa3jit/args.h"
#include "testing/host_tensor.h"

namespace fa3jit::testing {

struct ProblemConfig {
  DType dtype = DType::bf16;  // q, k, v (and qv)
  int batch = 2;
  int h = 4, h_k = 2;
  int d = 64, dv = 64;
  // Per-sequence lengths; empty = random in [0, max_len] (at least one > 0).
  std::vector<int> seqlens_q, seqlens_k;
  int max_len = 70;
  bool varlen = true;  // false: 4-D (b, s, h, d) with all lengths equal (seqlens_q[0] / seqlens_k[0])
  bool seqused_q = false;  // real lengths drawn <= the cu_seqlens lengths
  bool seqused_k = false;
  int page_size = 0;        // > 0: paged KV, pages scattered at random in the pool
  // page_table entries past a sequence's pages: 0 a random valid page id,
  // -1 all -1, 1 random garbage (negative or past the pool); a kernel that
  // reads them loads a wrong or out-of-bounds page.
  int unused_pages = 0;
  bool causal = false;
  int window_left = -1, window_right = -1;
  int attention_chunk = 0;
  float softcap = 0.f;
  bool sinks = false;
  DType sinks_dtype = DType::f32;
  bool qv = false;
  bool only_qv = false;
  bool descale = false;  // q/k/v_descale (random in [0.5, 2])
  // Multiplies every k_descale: negative or zero scales reach the kernels
  // that fold the score scale into exp2 only at run time.
  float k_descale_factor = 1.f;
  std::optional<float> softmax_scale{};  // the default (1 / sqrt(d)) if unset
  bool return_lse = true;
  int num_splits = 1;
  bool give_out = true;  // pass an out buffer (poisoned) rather than allocate
  float value_scale = 1.f;  // stddev of the random inputs
  int outliers = 0;         // this many elements of each of q, k, v set to +-400 (fp8 range checks)
  // fp8: the kernel rounds P to e4m3 (the sm90 path), so the plain
  // computation that sets the tolerance does too (else P is rounded to bf16).
  bool p_e4m3 = false;
  uint64_t seed = 1;
};

struct Problem {
  ProblemConfig cfg;
  HostTensor q, k, v, qv;
  HostTensor cu_seqlens_q, cu_seqlens_k, seqused_q, seqused_k, page_table;
  HostTensor q_descale, k_descale, v_descale, sinks;
  HostTensor out, lse;  // poisoned buffers (out when cfg.give_out; lse when return_lse)
  int64_t max_seqlen_q = 0, max_seqlen_k = 0;

  // VarlenArgs viewing the host buffers (device = CPU).
  VarlenArgs args() const;
  // Re-poisons out and lse.
  void poison();
};

Problem make_problem(const ProblemConfig& cfg);

struct CheckResult {
  bool ok = false;
  double max_err = 0;     // max |out - ref64| over real rows
  double plain_err = 0;   // max |out_plain - ref64|
  double tol = 0;         // the bound max_err was held to
  double lse_max_err = 0;
  std::string message;    // why it failed (first bad element, unwritten rows, NaN)
};

// Checks `out` (and `lse` when given) against the float64 reference of
// problem.args(): every real row within tolerance (2x plain + atol; 3x with
// softcap; 4x for fp8), padding rows (past seqused_q) untouched (still
// poison), no NaN. out / lse are host tensors (copy GPU results first).
CheckResult check_against_reference(const Problem& problem, const Tensor& out, const Tensor& lse);

}  // namespace fa3jit::testing
