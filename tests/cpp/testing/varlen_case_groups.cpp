#include "testing/varlen_case_groups.h"

#include <string>
#include <utility>
#include <vector>

namespace fa3jit::testing {

void add_dv_differs_cases(VarlenCaseList& list) {
  auto add = [&](std::string name, ProblemConfig cfg) { list.add(std::move(name), cfg); };
  for (auto [d, dv] : std::vector<std::pair<int, int>>{{64, 128}, {128, 64}, {192, 128}, {32, 256}}) {
    ProblemConfig c;
    c.d = d;
    c.dv = dv;
    add("d" + std::to_string(d) + "_dv" + std::to_string(dv), c);
  }
}

void add_fixed_len_and_seqused_cases(VarlenCaseList& list) {
  auto add = [&](std::string name, ProblemConfig cfg) { list.add(std::move(name), cfg); };
  {
    ProblemConfig c;
    c.varlen = false;
    c.seqlens_q = {100, 100};
    c.seqlens_k = {150, 150};
    add("fixed_len", c);
    c.causal = true;
    add("fixed_len_causal", c);
    c.seqused_k = true;
    add("fixed_len_seqused_k", c);
    ProblemConfig v;
    v.seqused_q = v.seqused_k = true;
    v.max_len = 200;
    add("varlen_seqused_qk", v);
    v.causal = true;
    add("varlen_seqused_qk_causal", v);
  }
}

void add_mask_cases(VarlenCaseList& list, int max_len) {
  auto add = [&](std::string name, ProblemConfig cfg) { list.add(std::move(name), cfg); };
  {
    ProblemConfig c;
    c.max_len = max_len;
    c.window_left = 32;
    c.window_right = 0;
    add("window_left32_right0", c);
    c.window_left = 16;
    c.window_right = 16;
    add("window_16_16", c);
    c.causal = true;
    c.window_right = -1;
    c.window_left = 70;
    add("causal_window70", c);
    c = ProblemConfig{};
    c.max_len = max_len;
    c.attention_chunk = 64;
    add("chunk64", c);
    c.causal = true;
    add("chunk64_causal", c);
    c.window_left = 20;
    add("chunk64_causal_window20", c);
    c = ProblemConfig{};
    c.window_left = 0;
    c.window_right = 0;  // diagonal only
    add("window_0_0", c);
  }
}

void add_softcap_and_sink_cases(VarlenCaseList& list, int softcap_max_len) {
  auto add = [&](std::string name, ProblemConfig cfg) { list.add(std::move(name), cfg); };
  {
    ProblemConfig c;
    c.softcap = 30.f;
    c.causal = true;
    c.max_len = softcap_max_len;
    add("softcap_causal", c);
    c = ProblemConfig{};
    c.sinks = true;
    add("sinks_f32", c);
    c.sinks_dtype = DType::bf16;
    c.causal = true;
    add("sinks_bf16_causal", c);
    c.seqlens_q = {5, 3};
    c.seqlens_k = {0, 2};  // rows with no key: out 0, LSE = the sink
    add("sinks_no_key", c);
  }
}

void add_gqa_cases(VarlenCaseList& list, std::initializer_list<int> ratios, int h_k_at_ratio_32) {
  for (int ratio : ratios)
    for (bool pack : {false, true}) {
      if (ratio == 1 && pack) continue;
      ProblemConfig c;
      c.h_k = ratio == 32 ? h_k_at_ratio_32 : 2;
      c.h = c.h_k * ratio;
      c.causal = true;
      c.max_len = 130;
      RunOptions o;
      o.pack_gqa = pack;
      const std::string name = "gqa" + std::to_string(ratio) + (pack ? "_packed" : "");
      list.add(name, c, o);
      c.seqlens_q = {1, 3, 0, 2};  // decode-like
      c.seqlens_k = {77, 200, 5, 1};
      c.batch = 4;
      list.add(name + "_decode", c, o);
    }
}

void add_zero_length_cases(VarlenCaseList& list) {
  auto add = [&](std::string name, ProblemConfig cfg) { list.add(std::move(name), cfg); };
  {
    ProblemConfig c;
    c.batch = 5;
    c.seqlens_q = {0, 5, 0, 17, 3};
    c.seqlens_k = {10, 0, 0, 33, 3};
    add("zero_lengths", c);
    c.causal = true;
    add("zero_lengths_causal", c);
    ProblemConfig one;
    one.batch = 1;
    one.seqlens_q = {1};
    one.seqlens_k = {1};
    add("one_token", one);
    ProblemConfig nokeys;
    nokeys.seqlens_q = {4, 9};
    nokeys.seqlens_k = {0, 0};
    add("all_keys_empty", nokeys);
  }
}

}  // namespace fa3jit::testing
