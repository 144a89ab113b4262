// The sm90 (Hopper) path on a GPU: random problems (testing::make_problem)
// run with path = Sm90 and checked element by element against the float64
// reference (poisoned outputs: unwritten rows and padding rows are caught).
// Every feature the path supports, tiles past the persistent grid, and the
// NotSupported cases. Skips without an sm_90 GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "dispatch/sm90_path.h"
#include "dispatch/sm90_specs.h"
#include "fa3jit/device.h"
#include "fa3jit/error.h"
#include "jit/jit.h"
#include "testing/gpu_case.h"
#include "testing/varlen_case_groups.h"
#include "validate/plan.h"

namespace fa3jit::testing {
namespace {

const DeviceInfo* sm90_gpu() { return find_cuda_gpu(90, 90); }

#define SKIP_WITHOUT_SM90() \
  if (!sm90_gpu()) GTEST_SKIP() << no_gpu_message("sm_90")

using Case = VarlenGpuCase;

// Key lengths in [1, max_len] for a batch (a fixed LCG: the case list is
// the same on every run).
std::vector<int> key_lengths(int batch, int max_len, uint32_t seed) {
  std::vector<int> out;
  for (int b = 0; b < batch; ++b) {
    seed = seed * 1664525u + 1013904223u;
    out.push_back(1 + int((seed >> 8) % uint32_t(max_len)));
  }
  return out;
}

// Split-KV (explicit splits, more splits than a sequence has key blocks,
// every mask and score feature, fixed length) and decode shapes on a paged
// cache: GQA 32/8 packed, 1 or 4 query rows, the 1-warpgroup kernel (up to
// 64 packed rows) split and not, splits chosen by the heuristic.
void add_split_and_decode_cases(VarlenCaseList& cs) {
  auto add = [&](std::string name, ProblemConfig cfg, RunOptions opt = {}) { cs.add(std::move(name), cfg, opt); };
  for (int splits : {2, 3, 7}) {  // zero-length and 1-token sequences
    ProblemConfig c;
    c.d = c.dv = 128;
    c.batch = 5;
    c.seqlens_q = {3, 0, 1, 200, 1};
    c.seqlens_k = {900, 0, 1, 1000, 130};
    c.num_splits = splits;
    add("split" + std::to_string(splits), c);
    c.causal = true;
    c.dtype = DType::f16;
    add("split" + std::to_string(splits) + "_causal_f16", c);
  }
  {
    ProblemConfig c;  // 5 splits of 5 blocks: sequences of 1 and 2 blocks leave splits empty
    c.seqlens_q = {2, 1, 7, 0};
    c.seqlens_k = {600, 1, 129, 0};
    c.batch = 4;
    c.num_splits = 5;
    add("split5_more_than_blocks", c);
    c.num_splits = 64;  // clamped to the longest sequence's 5 blocks
    add("split64_clamped", c);
  }
  {
    ProblemConfig c;  // every feature with splits: causal sliding window, sinks, softcap, LSE
    c.causal = true;
    c.window_left = 200;
    c.softcap = 5.f;
    c.sinks = true;
    c.d = c.dv = 128;
    c.batch = 3;
    c.seqlens_q = {50, 1, 300};
    c.seqlens_k = {1000, 500, 300};
    c.num_splits = 3;
    add("split3_causal_window_sinks_softcap", c);
    c.causal = false;
    c.window_left = 100;
    c.window_right = 50;
    c.softcap = 0.f;
    c.attention_chunk = 256;
    c.sinks_dtype = DType::bf16;
    c.num_splits = 4;
    add("split4_local_chunk_sinks", c);
  }
  for (int d : {64, 256}) {
    ProblemConfig c;
    c.d = c.dv = d;
    c.causal = d == 64;
    c.batch = 3;
    c.seqlens_q = {100, 1, 33};
    c.seqlens_k = {800, 300, 33};
    c.num_splits = 3;
    add("split3_d" + std::to_string(d), c);
  }
  {
    ProblemConfig c;  // fixed length (4-D): the workspace row is b * max_seqlen_q + r
    c.varlen = false;
    c.batch = 3;
    c.seqlens_q = {5};
    c.seqlens_k = {700};
    c.num_splits = 3;
    add("split3_fixed_len", c);
    c.seqused_k = true;
    add("split3_fixed_len_seqused_k", c);
  }
  {
    ProblemConfig c;  // 1 warpgroup unpacked (64 rows), and 2 warpgroups packed (17 x 4 = 68 rows), split and not
    c.h = c.h_k = 4;
    c.batch = 3;
    c.seqlens_q = {64, 10, 1};
    c.seqlens_k = {500, 64, 1};
    c.causal = true;
    add("onewg_unpacked", c);
    c.num_splits = 3;
    add("onewg_unpacked_split3", c);
    c.h = 8;
    c.h_k = 2;
    c.seqlens_q = {17, 3, 0};
    c.seqlens_k = {400, 200, 0};
    RunOptions o;
    o.pack_gqa = true;
    add("twowg_packed68_split3", c, o);
    o.workspace = true;
    add("twowg_packed68_split3_workspace", c, o);
    o.workspace = false;
    c.num_splits = 1;
    add("twowg_packed68", c, o);
  }
  // decode on a paged cache: 32 q-heads on 8 kv-heads packed, causal
  for (int ps : {128, 256})
    for (int sq : {1, 4}) {
      const std::string base = "decode_paged" + std::to_string(ps) + "_q" + std::to_string(sq);
      ProblemConfig c;
      c.h = 32;
      c.h_k = 8;
      c.d = c.dv = 128;
      c.causal = true;
      c.page_size = ps;
      RunOptions o;
      o.pack_gqa = true;
      c.batch = 3;
      c.seqlens_q = std::vector<int>(3, sq);
      c.seqlens_k = {20000, 37, 9000};
      c.num_splits = 0;  // the heuristic: 24 packed tiles on an H100 split about 6 ways
      add(base + "_b3_auto", c, o);
      c.num_splits = 7;
      add(base + "_b3_split7", c, o);
      if (ps == 128 && sq == 1) {  // the caller's workspace instead of a stream-ordered one
        RunOptions w = o;
        w.workspace = true;
        add(base + "_b3_split7_workspace", c, w);
        c.num_splits = 0;
        add(base + "_b3_auto_workspace", c, w);
        c.num_splits = 7;
      }
      c.batch = 17;
      c.seqlens_q = std::vector<int>(17, sq);
      c.seqlens_k = key_lengths(17, 3000, uint32_t(ps + sq));
      c.num_splits = 4;
      add(base + "_b17_split4", c, o);
      c.num_splits = 1;  // the 1-warpgroup kernel unsplit
      add(base + "_b17", c, o);
    }
  {
    ProblemConfig c;  // batch 1, long keys: Auto splits to fill the GPU (d64, pages of 128)
    c.h = 32;
    c.h_k = 8;
    c.causal = true;
    c.page_size = 128;
    c.batch = 1;
    c.seqlens_q = {1};
    c.seqlens_k = {16000};
    c.num_splits = 0;
    RunOptions o;
    o.pack_gqa = true;
    add("decode_paged128_d64_b1_auto", c, o);
    c.d = c.dv = 128;
    c.page_size = 64;  // 64-key blocks
    add("decode_paged64_b1_auto", c, o);
  }
}

// fp8 e4m3 (the sm90 fp8 kernels: QGMMA for both GEMMs, V transposed in
// shared memory, P rounded to e4m3), checked against the float64 reference
// on the dequantized inputs. Tolerance (reference_check.cpp, the upstream
// FA3 fp8 rule): 4 x the error of a plain computation + atol, where the plain
// computation rounds P to e4m3 as the kernel does (p_e4m3: P * 2^8 rounded,
// e4m3 keeps 3 mantissa bits, so P carries up to 2^-4 relative error against
// bf16's 2^-8; the factor 4 (2 for bf16) covers the kernel's P being taken
// against the running rather than the final row max and the fp8 tensor
// cores' accumulation). Outlier cases (+-400, near e4m3's 448) must stay
// finite: the checker fails on any NaN / Inf.
void add_fp8_cases(VarlenCaseList& cs) {
  auto add = [&](std::string name, ProblemConfig c, RunOptions opt = {}) {
    c.dtype = DType::fp8_e4m3;
    c.p_e4m3 = true;
    cs.add("fp8_" + std::move(name), c, opt);
  };
  for (int d : {64, 128, 256})
    for (bool causal : {false, true}) {
      ProblemConfig c;
      c.d = c.dv = d;
      c.causal = causal;
      c.descale = true;
      c.batch = 3;
      c.max_len = 300;
      add("d" + std::to_string(d) + (causal ? "_causal" : ""), c);
    }
  for (int d : {128, 256}) {  // many key blocks through the ring, more tiles than CTAs
    ProblemConfig c;
    c.batch = 4;
    c.h = c.h_k = d == 128 ? 16 : 4;
    c.seqlens_q = {1000, 777, 1, 1500};
    c.seqlens_k = {1000, 900, 1300, 1500};
    c.causal = true;
    c.d = c.dv = d;
    c.descale = true;
    add("long_d" + std::to_string(d) + "_causal", c);
  }
  {
    ProblemConfig c;  // no descales: the scale folds into exp2
    c.d = c.dv = 128;
    c.max_len = 200;
    add("d128_no_descale", c);
    c.descale = true;
    c.d = c.dv = 80;  // padded to 128 (explicit path only)
    add("d80_padded", c);
    c.d = 64;
    c.dv = 128;
    add("d64_dv128", c);
  }
  {
    ProblemConfig c;
    c.d = c.dv = 128;
    c.descale = true;
    c.max_len = 400;
    c.window_left = 70;
    c.window_right = 20;
    add("window", c);
    c.window_left = c.window_right = -1;
    c.causal = true;
    c.attention_chunk = 96;
    add("chunk_causal", c);
    c.attention_chunk = 0;
    c.softcap = 15.f;
    c.sinks = true;
    add("softcap_sinks_causal", c);
    c.d = c.dv = 256;
    add("d256_softcap_sinks_causal", c);
  }
  {
    ProblemConfig c;
    c.d = c.dv = 128;
    c.descale = true;
    c.max_len = 300;
    c.seqused_q = c.seqused_k = true;
    c.causal = true;
    add("seqused", c);
    c = ProblemConfig{};
    c.d = c.dv = 64;
    c.descale = true;
    c.varlen = false;
    c.seqlens_q = {200, 200};
    c.seqlens_k = {333, 333};
    add("fixed_len", c);
    c = ProblemConfig{};
    c.d = c.dv = 128;
    c.descale = true;
    c.seqlens_q = {0, 5};
    c.seqlens_k = {0, 0};
    add("zero_lengths", c);
  }
  for (bool pack : {false, true}) {  // GQA, decode-like included
    ProblemConfig c;
    c.d = c.dv = 128;
    c.descale = true;
    c.h_k = 2;
    c.h = 8;
    c.causal = true;
    c.max_len = 200;
    RunOptions o;
    o.pack_gqa = pack;
    add(std::string("gqa4") + (pack ? "_packed" : ""), c, o);
    c.batch = 4;
    c.seqlens_q = {1, 3, 0, 2};
    c.seqlens_k = {77, 300, 5, 1};
    add(std::string("gqa4") + (pack ? "_packed" : "") + "_decode", c, o);
  }
  for (int d : {128, 256}) {  // paged KV (pages hold whole key blocks: 128, 64 at d256)
    ProblemConfig c;
    c.d = c.dv = d;
    c.descale = true;
    c.page_size = d == 128 ? 128 : 64;
    c.causal = true;
    c.h = 8;
    c.h_k = 2;
    c.max_len = 700;
    add("paged" + std::to_string(c.page_size) + "_d" + std::to_string(d), c);
    c.page_size = 256;
    c.seqlens_q = {1, 1, 2};
    c.seqlens_k = {257, 64, 700};
    c.batch = 3;
    RunOptions o;
    o.pack_gqa = true;
    add("paged256_d" + std::to_string(d) + "_decode_packed", c, o);
  }
  {
    ProblemConfig c;  // pages of 64 keys at d128: 64-key blocks
    c.d = c.dv = 128;
    c.descale = true;
    c.page_size = 64;
    c.causal = true;
    c.max_len = 500;
    add("paged64_d128", c);
  }
  {
    ProblemConfig c;  // split-KV
    c.d = c.dv = 128;
    c.descale = true;
    c.num_splits = 3;
    c.batch = 3;
    c.seqlens_q = {3, 1, 200};
    c.seqlens_k = {900, 1, 700};
    c.causal = true;
    c.sinks = true;
    add("split3_causal_sinks", c);
  }
  for (int d : {128, 256}) {  // fp8 KV-cache decode: the 1-warpgroup kernel (4 x 4 packed rows), split and not
    ProblemConfig c;
    c.d = c.dv = d;
    c.descale = true;
    c.h = 32;
    c.h_k = 8;
    c.causal = true;
    c.sinks = d == 256;
    c.page_size = d == 128 ? 128 : 64;
    c.batch = 3;
    c.seqlens_q = {4, 1, 4};
    c.seqlens_k = {5000, 37, 130};  // 37: one partial block; 130 past a page boundary
    RunOptions o;
    o.pack_gqa = true;
    const std::string base = "decode_paged" + std::to_string(c.page_size) + "_d" + std::to_string(d);
    add(base, c, o);
    c.num_splits = 5;  // the 37-key sequence leaves 4 splits without a key block
    add(base + "_split5", c, o);
    c.num_splits = 0;  // the heuristic
    add(base + "_auto", c, o);
  }
  for (int d : {64, 128, 256}) {  // outliers near e4m3's largest value
    ProblemConfig c;
    c.d = c.dv = d;
    c.descale = true;
    c.max_len = 300;
    c.outliers = 8;
    c.causal = d == 128;
    add("outliers_d" + std::to_string(d), c);
  }
}

// Pages smaller than the key block (8, 16, 32; one TMA box per page), run
// with path = Sm90 (Auto keeps them on sm80 until these pass): decode
// shapes (GQA 32/8 packed, 1 or 4 query rows, causal), splits auto and 3,
// bf16 and fp8, d 64 and 128; sequences ending inside a page, on a page
// boundary (the block's later boxes reload the last page) and long ones;
// page_table tails -1 or garbage; pages scattered in a random order.
void add_small_page_cases(VarlenCaseList& cs) {
  for (int ps : {8, 16, 32})
    for (DType dt : {DType::bf16, DType::fp8_e4m3})
      for (int d : {64, 128})
        for (int sq : {1, 4})
          for (int splits : {0, 3}) {
            ProblemConfig c;
            c.dtype = dt;
            c.p_e4m3 = dt == DType::fp8_e4m3;
            c.descale = dt == DType::fp8_e4m3;
            c.h = 32;
            c.h_k = 8;
            c.d = c.dv = d;
            c.causal = true;
            c.page_size = ps;
            c.unused_pages = splits == 0 ? -1 : 1;
            c.batch = 4;
            c.seqlens_q = std::vector<int>(4, sq);
            c.seqlens_k = {5 * ps + 3, 9 * ps, 2000 + ps / 2, 1};
            c.num_splits = splits;
            RunOptions o;
            o.pack_gqa = true;
            cs.add(std::string(dt == DType::bf16 ? "bf16" : "fp8") + "_small_pages" + std::to_string(ps) + "_d" +
                       std::to_string(d) + "_q" + std::to_string(sq) + (splits ? "_split3" : "_auto"),
                   c, o);
          }
}

// Pages TMA cannot load (1, 3, 12, 100 keys), gathered with cp.async by the
// producer warp: decode (1 or 4 query rows, GQA 32/8 packed) and prefill
// (2 warpgroups, not packed), bf16 and fp16, d 64 / 96 (padded columns) /
// 128 / 256 (64-key blocks), splits auto and 3, sequences ending inside a
// page or on its boundary, page_table tails -1 or garbage.
void add_gathered_page_cases(VarlenCaseList& cs) {
  for (int ps : {1, 3, 12, 100})
    for (int d : {64, 96, 128, 256})
      for (int shape = 0; shape < 3; ++shape) {
        ProblemConfig c;
        c.dtype = (ps + d) % 3 == 0 ? DType::f16 : DType::bf16;
        c.d = c.dv = d;
        c.causal = true;
        c.page_size = ps;
        c.unused_pages = shape == 1 ? 1 : -1;
        c.batch = 3;
        RunOptions o;
        if (shape < 2) {  // decode, packed
          c.h = 32;
          c.h_k = 8;
          c.seqlens_q = std::vector<int>(3, shape == 0 ? 1 : 4);
          c.seqlens_k = {5 * ps + 3, 7 * ps, 700 + ps / 2};
          c.num_splits = shape == 0 ? 0 : 3;
          o.pack_gqa = true;
        } else {  // prefill: 128-row tiles over several key blocks
          c.h = 4;
          c.h_k = 2;
          c.seqlens_q = {150, 1, 37};
          c.seqlens_k = {300, 3 * ps, 37};
        }
        cs.add("gathered_pages" + std::to_string(ps) + "_d" + std::to_string(d) +
                   (shape == 0 ? "_q1_auto" : shape == 1 ? "_q4_split3" : "_prefill"),
               c, o);
      }
}

// The score scale's sign, known only at run time (the fp8 descales are
// device values): a negative scale makes the row's largest scaled score its
// smallest raw one, a zero scale is run as a tiny positive one; with masks,
// so that masked keys must stay out either way. fp8 through k_descale, 16-bit
// through softmax_scale; prefill (2 warpgroups) and split decode (1).
void add_score_sign_cases(VarlenCaseList& cs) {
  for (float factor : {-1.f, 0.f}) {
    ProblemConfig c;
    c.dtype = DType::fp8_e4m3;
    c.p_e4m3 = true;
    c.descale = true;
    c.k_descale_factor = factor;
    c.d = c.dv = 128;
    c.causal = true;
    c.max_len = 400;
    const std::string sign = factor < 0 ? "negative" : "zero";
    cs.add("fp8_" + sign + "_k_descale_causal", c);
    c.causal = false;
    c.window_left = 60;
    c.window_right = 30;
    c.d = c.dv = 256;
    cs.add("fp8_" + sign + "_k_descale_window_d256", c);
  }
  for (float scale : {-0.2f, 0.f}) {
    const std::string sign = scale < 0 ? "negative" : "zero";
    ProblemConfig c;
    c.softmax_scale = scale;
    c.d = c.dv = 128;
    c.causal = true;
    c.max_len = 400;
    cs.add("bf16_" + sign + "_scale_causal", c);
    c.dtype = DType::f16;
    c.d = c.dv = 64;
    c.causal = false;
    c.attention_chunk = 48;
    c.sinks = true;
    cs.add("f16_" + sign + "_scale_chunk_sinks_d64", c);
    c = ProblemConfig{};  // decode: GQA 32/8 packed, split
    c.softmax_scale = scale;
    c.h = 32;
    c.h_k = 8;
    c.d = c.dv = 128;
    c.causal = true;
    c.seqlens_q = {1, 4, 2};
    c.seqlens_k = {900, 37, 300};
    c.batch = 3;
    c.num_splits = 3;
    RunOptions o;
    o.pack_gqa = true;
    cs.add("bf16_" + sign + "_scale_decode_split3", c, o);
  }
}

std::vector<Case> all_cases() {
  VarlenCaseList cs(900);
  auto add = [&](std::string name, ProblemConfig cfg, RunOptions opt = {}) { cs.add(std::move(name), cfg, opt); };
  // dtypes x full-speed head dims x causal, lengths not multiples of the tile
  for (DType dt : {DType::bf16, DType::f16})
    for (int d : {64, 96, 128, 192, 256})
      for (bool causal : {false, true}) {
        ProblemConfig c;
        c.dtype = dt;
        c.d = c.dv = d;
        c.causal = causal;
        c.batch = 3;
        c.max_len = 300;
        add(std::string(dtype_name(dt)) + "_d" + std::to_string(d) + (causal ? "_causal" : ""), c);
      }
  // long sequences (many key blocks through the 2-stage ring) and more
  // tiles than CTAs (the persistent loop), causal and not
  for (bool causal : {false, true}) {
    ProblemConfig c;
    c.batch = 4;
    c.h = c.h_k = 16;
    c.seqlens_q = {1000, 777, 1, 1500};
    c.seqlens_k = {1000, 900, 1300, 1500};
    c.causal = causal;
    c.d = c.dv = 128;
    add(std::string("long_many_tiles") + (causal ? "_causal" : ""), c);
    c.d = c.dv = 256;
    c.h = c.h_k = 4;
    add(std::string("long_d256") + (causal ? "_causal" : ""), c);
  }
  // padded head dims (explicit path only; Auto takes sm80 for these)
  for (int d : {8, 40, 72, 112, 136, 200, 248}) {
    ProblemConfig c;
    c.d = c.dv = d;
    c.causal = d % 16 == 0;
    add("d" + std::to_string(d), c);
  }
  add_dv_differs_cases(cs);
  add_fixed_len_and_seqused_cases(cs);
  // GQA / MQA, with and without packing (3 q-heads per kv-head cannot pack:
  // runs unpacked); at ratio 32 one kv-head, so a packed group (32 heads x
  // rows) stays within the 128-row tile's sequence rows
  add_gqa_cases(cs, {1, 3, 4, 8, 32}, 1);
  add_mask_cases(cs, 400);
  add_softcap_and_sink_cases(cs, 300);
  add_zero_length_cases(cs);
  add_fp8_cases(cs);
  add_split_and_decode_cases(cs);
  // paged KV (page size a multiple of the key block: 128 for d <= 128, else 64)
  {
    ProblemConfig c;
    c.page_size = 64;
    c.d = c.dv = 192;
    c.causal = true;
    c.max_len = 300;
    add("paged64_d192", c);
  }
  for (int ps : {128, 256}) {
    ProblemConfig c;
    c.page_size = ps;
    c.causal = true;
    c.h = 8;
    c.h_k = 2;
    c.max_len = 700;
    add("paged" + std::to_string(ps), c);
    c.seqlens_q = {1, 1, 2};
    c.seqlens_k = {257, 64, 700};
    c.batch = 3;
    RunOptions o;
    o.pack_gqa = true;
    add("paged" + std::to_string(ps) + "_decode_packed", c, o);
  }
  // strided out (row / head padding)
  {
    ProblemConfig c;
    c.causal = true;
    RunOptions o;
    o.out_head_pad = 8;
    o.out_row_pad = 24;
    add("out_strided", c, o);
  }
  add_small_page_cases(cs);  // last: the earlier cases keep their seeds
  add_gathered_page_cases(cs);
  add_score_sign_cases(cs);
  // out rows not 16-byte aligned: the epilogue stores from registers
  // instead of through shared memory (consumer.cuh), packed GQA and not
  for (bool pack : {false, true}) {
    ProblemConfig c;
    c.d = c.dv = 128;
    c.h = 8;
    c.h_k = 2;
    c.max_len = 300;
    RunOptions o;
    o.pack_gqa = pack;
    o.out_head_pad = 4;
    add(std::string("out_unaligned_rows") + (pack ? "_packed" : ""), c, o);
  }
  // d 64 past kSm90ShortKeys keys: the 192-key blocks (shorter ones take 128)
  for (bool causal : {false, true}) {
    ProblemConfig c;
    c.batch = 2;
    c.seqlens_q = {64, 130};
    c.seqlens_k = {detail::kSm90ShortKeys + 52, 700};
    c.causal = causal;
    add(std::string("d64_long_keys") + (causal ? "_causal" : ""), c);
  }
  return cs.take();
}

std::vector<jit::KernelSpec>& tested_specs() {
  static std::vector<jit::KernelSpec> specs;
  return specs;
}

// The kernels the cases need, compiled in parallel up front.
void precompile(const std::vector<Case>& cases) {
  tested_specs() = compile_case_kernels(cases, [](const Case& c, detail::Plan& plan) {
    plan.params.pack_gqa = c.opt.pack_gqa.value_or(false) && plan.params.h != plan.params.h_k;
    return std::vector<jit::KernelSpec>{detail::sm90_fwd_spec(detail::sm90_key_for(plan))};
  });
}

class Sm90Gpu : public ::testing::TestWithParam<Case> {
 protected:
  static void SetUpTestSuite() {
    if (sm90_gpu() && precompile_pays()) precompile(all_cases());
  }
};

TEST_P(Sm90Gpu, MatchesReference) {
  SKIP_WITHOUT_SM90();
  const Case& c = GetParam();
  const CheckResult res = run_case(c, Device{DeviceType::CUDA, sm90_gpu()->index}, KernelPath::Sm90);
  EXPECT_TRUE(res.ok) << describe(c) << "\n  " << res.message;
  RecordProperty("max_err", std::to_string(res.max_err));
}

INSTANTIATE_TEST_SUITE_P(All, Sm90Gpu, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<Case>& i) { return i.param.name; });

void expect_not_supported(const ProblemConfig& c, const std::string& names) {
  Problem p = make_problem(c);
  try {
    run_problem(p, Device{DeviceType::CUDA, sm90_gpu()->index}, KernelPath::Sm90);
    ADD_FAILURE() << "ran on the sm90 path; expected an error naming " << names;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotSupported) << e.what();
    EXPECT_NE(std::string(e.what()).find(names), std::string::npos) << e.what();
  }
}

TEST(Sm90GpuErrors, NotSupportedNamesTheArgument) {
  SKIP_WITHOUT_SM90();
  ProblemConfig c;
  c.dtype = DType::fp8_e4m3;
  c.descale = true;
  c.page_size = 12;  // fp8 pages are not gathered
  expect_not_supported(c, "page_size = 12 with fp8 inputs");
  c = ProblemConfig{};
  c.dtype = DType::fp8_e4m3;
  c.descale = true;
  c.d = c.dv = 128;
  c.page_size = 48;  // does not divide the 128-key block
  expect_not_supported(c, "page_size = 48");
  c = ProblemConfig{};  // asked-for splits: batch is the combine kernel's grid z (at most 65535)
  c.varlen = false;
  c.batch = 65536;
  c.h = c.h_k = 1;
  c.seqlens_q = {1};
  c.seqlens_k = {2};
  c.num_splits = 2;
  expect_not_supported(c, "batch = 65536 must each be at most 65535");
}

// Both tile walks forced on every feature (unset, the dynamic walk runs
// only launches of more tiles than CTAs, as the long cases here): the
// dynamic one (tile_ring.cuh), whose CTAs take tiles from a counter that
// each launch leaves zero, so these cases running one after another on one
// stream also check the reset (a counter left non-zero would skip the next
// launch's first tiles: rows unwritten); and the static snake walk.
TEST(Sm90GpuDynamic, MatchesReference) {
  SKIP_WITHOUT_SM90();
  const std::vector<std::string> names = {
      "bfloat16_d64",  "bfloat16_d64_causal", "bfloat16_d128", "bfloat16_d128_causal", "float16_d256_causal",
      "bfloat16_d192", "long_many_tiles",     "long_many_tiles_causal", "long_d256_causal", "d128_dv64",
      "fixed_len_causal", "varlen_seqused_qk_causal", "gqa4_packed", "gqa8_packed_decode", "causal_window70",
      "chunk64_causal_window20", "softcap_causal", "sinks_bf16_causal", "zero_lengths_causal", "one_token",
      "fp8_d64_causal", "fp8_d128", "fp8_long_d128_causal", "fp8_long_d256_causal", "fp8_gqa4_packed",
      "d64_long_keys_causal", "out_unaligned_rows_packed"};
  const std::vector<Case> cases = all_cases();
  for (const char* walk : {"dynamic", "static"}) {
    setenv("FA3JIT_SM90_SCHED", walk, 1);
    for (const std::string& name : names) {
      const Case* c = find_case(cases, name);
      ASSERT_NE(c, nullptr) << name;
      const CheckResult res = run_case(*c, Device{DeviceType::CUDA, sm90_gpu()->index}, KernelPath::Sm90);
      EXPECT_TRUE(res.ok) << "FA3JIT_SM90_SCHED=" << walk << ", " << describe(*c) << "\n  " << res.message;
    }
  }
  unsetenv("FA3JIT_SM90_SCHED");
}

// The dynamic walk inside CUDA-graph capture (streams first used there):
// without a workspace each graph allocates its own counter (replayed on two
// streams at once, they must not share one: a shared counter hands each
// tile to one of the two, and the other's rows stay poison); with one, the
// counter is its first bytes, zeroed by a memset node.
TEST(Sm90GpuDynamic, CapturedGraphsHaveTheirOwnCounter) {
  SKIP_WITHOUT_SM90();
  ProblemConfig c;
  c.d = c.dv = 128;
  c.causal = true;
  c.h = c.h_k = 8;
  c.batch = 3;
  c.seqlens_q = c.seqlens_k = {2500, 1200, 3000};  // 8 heads x 55 tiles: more than one per SM
  c.seed = 21;
  Problem p = make_problem(c);
  const detail::Plan plan = detail::validate_varlen_args(p.args(), nullptr);
  ASSERT_TRUE(detail::sm90_key_for(plan).dynamic);
  const Device gpu{DeviceType::CUDA, sm90_gpu()->index};
  for (bool workspace : {false, true}) {
    RunOptions opt;
    opt.workspace = workspace;
    const GraphRun run = run_problem_in_graphs(p, gpu, KernelPath::Sm90, opt, workspace ? 1 : 2);
    const CheckResult res = check_run(p, run.out);
    EXPECT_TRUE(res.ok) << "workspace " << workspace << ": " << res.message;
    std::vector<int> want = {CU_GRAPH_NODE_TYPE_MEMSET, CU_GRAPH_NODE_TYPE_KERNEL};
    if (!workspace) want.insert(want.end(), {CU_GRAPH_NODE_TYPE_MEM_ALLOC, CU_GRAPH_NODE_TYPE_MEM_FREE});
    std::vector<int> got = run.node_types;
    std::sort(want.begin(), want.end());
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, want) << "workspace " << workspace;
  }
}

// Three consumer warpgroups (FA3JIT_SM90_WARPGROUPS=3: 192-row tiles) on
// every case of the list that can take them (16-bit d = dv = 64, no pages,
// splits or softcap): their kernels compiled in parallel first and checked
// for local memory, then each case against the reference. Cases whose
// packed rows fit in 64 keep the one-warpgroup kernel.
TEST(Sm90GpuThreeWarpgroups, MatchesReference) {
  SKIP_WITHOUT_SM90();
  setenv("FA3JIT_SM90_WARPGROUPS", "3", 1);
  std::vector<Case> cases;
  for (const Case& c : all_cases())
    if (c.cfg.dtype != DType::fp8_e4m3 && c.cfg.d <= 64 && c.cfg.dv <= 64 && c.cfg.page_size == 0 &&
        c.cfg.num_splits <= 1 && !c.opt.num_splits && c.cfg.softcap == 0.f)
      cases.push_back(c);
  int three = 0;
  const std::vector<jit::KernelSpec> specs = compile_case_kernels(cases, [&](const Case& c, detail::Plan& plan) {
    plan.params.pack_gqa = c.opt.pack_gqa.value_or(false) && plan.params.h != plan.params.h_k;
    const detail::Sm90KernelKey key = detail::sm90_key_for(plan);
    three += key.warpgroups == 3;
    return std::vector<jit::KernelSpec>{detail::sm90_fwd_spec(key)};
  });
  EXPECT_GE(three, 10) << "of " << cases.size() << " cases";
  for (const std::string& spill : kernels_that_spill(specs, sm90_gpu()->index)) ADD_FAILURE() << spill;
  for (const Case& c : cases) {
    const CheckResult res = run_case(c, Device{DeviceType::CUDA, sm90_gpu()->index}, KernelPath::Sm90);
    EXPECT_TRUE(res.ok) << "FA3JIT_SM90_WARPGROUPS=3, " << describe(c) << "\n  " << res.message;
  }
  unsetenv("FA3JIT_SM90_WARPGROUPS");
}

// Auto runs fp8 on the sm90 kernels where they have the head dims (here
// d = dv = 128) and on sm80 otherwise (d = dv = 96); both answers right.
TEST(Sm90GpuAuto, Fp8RunsOnSm90WhereItCan) {
  SKIP_WITHOUT_SM90();
  for (int d : {128, 96}) {
    ProblemConfig c;
    c.dtype = DType::fp8_e4m3;
    c.p_e4m3 = d == 128;
    c.descale = true;
    c.causal = true;
    c.d = c.dv = d;
    Problem p = make_problem(c);
    const detail::Plan plan = detail::validate_varlen_args(p.args(), nullptr);
    EXPECT_EQ(detail::sm90_preferred(plan, *sm90_gpu()), d == 128) << "d = " << d;
    const CheckResult res = check_run(p, run_problem(p, Device{DeviceType::CUDA, sm90_gpu()->index}, KernelPath::Auto));
    EXPECT_TRUE(res.ok) << "d = " << d << ": " << res.message;
  }
}

// Auto runs pages sm90 cannot (fp8 pages of 12: not gathered) on sm80,
// with the same answers (splits included).
TEST(Sm90GpuAuto, FallsBackToSm80WhereSm90CannotRun) {
  SKIP_WITHOUT_SM90();
  ProblemConfig c;
  c.dtype = DType::fp8_e4m3;
  c.descale = true;
  c.page_size = 12;
  c.causal = true;
  c.num_splits = 2;
  c.seqlens_q = {3, 1};
  c.seqlens_k = {300, 200};
  Problem p = make_problem(c);
  EXPECT_FALSE(detail::sm90_preferred(detail::validate_varlen_args(p.args(), nullptr), *sm90_gpu()));
  const CheckResult res = check_run(p, run_problem(p, Device{DeviceType::CUDA, sm90_gpu()->index}, KernelPath::Auto));
  EXPECT_TRUE(res.ok) << res.message;
}

// No kernel spills to local memory: the common ones and every tested one.
TEST(Sm90GpuKernels, NoLocalMemory) {
  SKIP_WITHOUT_SM90();
  std::vector<jit::KernelSpec> specs = detail::sm90_warmup_specs(90);
  if (tested_specs().empty()) precompile(all_cases());
  specs.insert(specs.end(), tested_specs().begin(), tested_specs().end());
  for (const std::string& spill : kernels_that_spill(specs, sm90_gpu()->index)) ADD_FAILURE() << spill;
}

}  // namespace
}  // namespace fa3jit::testing
