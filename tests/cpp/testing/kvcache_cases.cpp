// The decode feature matrix and the check of one run (see run_kvcache.h).
#include <cstring>
#include <sstream>

#include "testing/run_kvcache.h"

namespace fa3jit::testing {
namespace {

std::string compare_cache(const char* name, const HostTensor& want, const HostTensor& got) {
  if (got.nbytes() != want.nbytes()) return std::string(name) + ": wrong size";
  const size_t es = dtype_size(want.dtype());
  for (int64_t i = 0; i < want.numel(); ++i)
    if (std::memcmp(static_cast<const char*>(want.data()) + i * es, static_cast<const char*>(got.data()) + i * es,
                    es) != 0) {
      std::ostringstream s;
      s << name << " element " << i << " (row " << i / want.shape().back() << ", dim " << i % want.shape().back()
        << ") = " << got.get(i) << ", expected " << want.get(i);
      return s.str();
    }
  return "";
}

}  // namespace

std::string check_kvcache_run(const KvcacheExpected& expected, const KvcacheRun& run) {
  if (std::string e = compare_cache("k_cache", expected.k_cache, run.k_cache); !e.empty()) return e;
  if (std::string e = compare_cache("v_cache", expected.v_cache, run.v_cache); !e.empty()) return e;
  const CheckResult r = check_against_reference(expected.attention, run.out.view(), run.lse.view());
  return r.ok ? "" : r.message;
}

std::vector<KvcacheCase> kvcache_cases(bool gpu) {
  std::vector<KvcacheCase> cs;
  uint64_t seed = 500;
  auto add = [&](std::string name, KvcacheConfig c) {
    c.seed = ++seed;
    cs.push_back({std::move(name), c});
  };
  KvcacheConfig base;
  base.batch = 3;
  base.cache_seqlens = {5, 0, 40};

  {
    KvcacheConfig c = base;
    add("dense_no_append", c);
  }
  {
    KvcacheConfig c = base;
    c.new_lens = {1};
    add("dense_append_one", c);
  }
  for (int ps : {1, 16}) {
    KvcacheConfig c = base;
    c.page_size = ps;
    c.s_cache = 70;
    c.new_lens = {3};
    c.causal = true;
    c.q_lens = {3};
    add("paged" + std::to_string(ps) + "_append3_causal", c);
  }
  {
    KvcacheConfig c = base;
    c.cache_batch_idx = true;
    c.extra_cache_rows = 2;
    c.new_lens = {2};
    add("cache_batch_idx", c);
  }
  {
    KvcacheConfig c = base;
    c.leftpad = {2, 0, 17};
    c.new_lens = {1};
    c.causal = true;
    add("leftpad_causal", c);
  }
  {
    KvcacheConfig c = base;
    c.leftpad = {1, 0, 9};
    c.cache_batch_idx = true;
    c.extra_cache_rows = 1;
    c.new_lens = {2};
    c.window_left = 7;
    add("leftpad_batch_idx_window", c);
  }
  for (bool inter : {true, false})
    for (bool causal : {false, true}) {
      KvcacheConfig c = base;
      c.new_lens = {2};
      c.q_lens = {2};
      c.rotary_dim = 32;
      c.rotary_interleaved = inter;
      c.causal = causal;
      add(std::string("rotary_") + (inter ? "interleaved" : "halves") + (causal ? "_causal" : "_noncausal"), c);
    }
  {
    KvcacheConfig c = base;
    c.new_lens = {1};
    c.rotary_dim = 64;  // the whole head
    c.rotary_seqlens = {3, 11, 0};
    c.page_size = 16;
    add("rotary_seqlens_full_dim_paged", c);
  }
  for (int s : {2, 5, 8}) {
    KvcacheConfig c = base;
    c.new_lens = {s};
    c.q_lens = {s};
    c.causal = true;
    c.rotary_dim = 16;
    c.page_size = 16;
    add("speculative" + std::to_string(s) + "_causal", c);
  }
  {
    KvcacheConfig c = base;
    c.varlen_q = true;
    c.q_lens = {3, 1, 0};
    c.varlen_new = true;
    c.new_lens = {3, 1, 0};
    c.causal = true;
    c.rotary_dim = 32;
    add("varlen_q_varlen_new", c);
  }
  {
    KvcacheConfig c = base;
    c.varlen_q = true;
    c.q_lens = {2, 0, 4};
    c.new_lens = {1};
    c.page_size = 1;
    add("varlen_q_paged1", c);
  }
  {
    KvcacheConfig c = base;
    c.cache_seqlens = {9, 9, 9};
    c.seqlens_scalar = true;
    c.new_lens = {1};
    add("scalar_cache_seqlens", c);
  }
  {
    KvcacheConfig c = base;
    c.h = 8, c.h_k = 2, c.d = 128, c.dv = 64;
    c.cache_seqlens = {200, 3, 150};
    c.s_cache = 256;
    c.new_lens = {1};
    c.num_splits = 3;
    c.rotary_dim = 64;
    add("gqa_d128_dv64_splits", c);
  }
  {
    KvcacheConfig c = base;
    c.softcap = 5.f;
    c.new_lens = {1};
    add("softcap", c);
  }
  {
    KvcacheConfig c = base;
    c.dtype = DType::f16;
    c.new_lens = {2};
    c.rotary_dim = 32;
    add("fp16_rotary", c);
  }
  {
    KvcacheConfig c = base;
    c.dtype = DType::fp8_e4m3;
    c.new_lens = {2};
    add("fp8_append", c);
  }
  if (!gpu) {
    KvcacheConfig c = base;
    c.dtype = DType::f32;
    c.new_lens = {2};
    c.rotary_dim = 32;
    add("fp32_rotary", c);
  }
  return cs;
}

}  // namespace fa3jit::testing
