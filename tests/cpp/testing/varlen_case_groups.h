// Case groups that both varlen GPU tests (sm80, sm90 paths) run, each
// added in the test's order (the seeds count up through the list).
#pragma once
#include <initializer_list>

#include "testing/gpu_case.h"

namespace fa3jit::testing {

// dv != d: (64, 128), (128, 64), (192, 128), (32, 256).
void add_dv_differs_cases(VarlenCaseList& list);
// 4-D fixed length (plain, causal, seqused_k); varlen with seqused_q / seqused_k.
void add_fixed_len_and_seqused_cases(VarlenCaseList& list);
// Sliding windows, chunked attention and their mixes with causal; sequences
// up to max_len.
void add_mask_cases(VarlenCaseList& list, int max_len);
// softcap (causal, sequences up to softcap_max_len); sinks in f32 / bf16,
// including rows that see no key (out 0, LSE = the sink).
void add_softcap_and_sink_cases(VarlenCaseList& list, int softcap_max_len);
// GQA at each ratio (h = h_k * ratio), packed and not (not packed only at
// ratio 1), causal, prefill-like and decode-like; h_k = 2, but
// h_k_at_ratio_32 at ratio 32.
void add_gqa_cases(VarlenCaseList& list, std::initializer_list<int> ratios, int h_k_at_ratio_32);
// Zero-length sequences, one token, every key sequence empty.
void add_zero_length_cases(VarlenCaseList& list);

}  // namespace fa3jit::testing
