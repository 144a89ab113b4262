// The sm90 path without a GPU: NVRTC compiles representative sm_90a
// instances (every head dim, both dtypes, every mask kind and feature flag),
// the key a plan maps to, and the NotSupported errors that name the
// argument (checked against a simulated H100). Runs in CI.
#include <gtest/gtest.h>

#include <cstring>
#include <future>
#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

#include "../../kernels/sm90/tile_config.cuh"
#include "dispatch/sm90_path.h"
#include "dispatch/sm90_specs.h"
#include "dispatch/split_kv.h"
#include "fa3jit/error.h"
#include "jit/jit.h"
#include "testing/problem.h"
#include "validate/plan.h"

namespace fa3jit::testing {
namespace {

namespace k = fa3jit_k::sm90;

bool is_elf(const std::vector<char>& b) { return b.size() > 4 && std::memcmp(b.data(), "\x7f" "ELF", 4) == 0; }

// Compiles every key's kernel with NVRTC (in parallel) and expects an ELF
// cubin; check_spec adds the caller's checks on each key's spec.
template <class CheckSpec>
void expect_compile(const std::vector<detail::Sm90KernelKey>& keys, CheckSpec check_spec) {
  std::vector<std::future<std::vector<char>>> jobs;
  for (const auto& x : keys) {
    const jit::KernelSpec s = detail::sm90_fwd_spec(x);
    check_spec(x, s);
    jobs.push_back(std::async(std::launch::async, [s] { return jit::get_cubin(s); }));
  }
  for (size_t i = 0; i < jobs.size(); ++i) {
    try {
      EXPECT_TRUE(is_elf(jobs[i].get())) << keys[i].describe();
    } catch (const Error& e) {
      ADD_FAILURE() << keys[i].describe() << ": " << e.what();
    }
  }
}

DeviceInfo simulated_h100() {
  return DeviceInfo{.backend = Backend::CUDA, .index = 0, .name = "simulated H100", .major = 9, .minor = 0,
                    .runtime_version = 12080, .sm_count = 132, .smem_per_block = 232448};
}

detail::Plan plan_of(const ProblemConfig& cfg, const Problem& p) {
  (void)cfg;
  return detail::validate_varlen_args(p.args(), nullptr);
}

detail::Sm90KernelKey key(DType dt, int d, int mask, bool paged = false, bool softcap = false, bool sinks = false,
                          bool pack = false, int dv = 0) {
  detail::Sm90KernelKey x;
  x.dtype = dt;
  x.d = d;
  x.dv = dv ? dv : d;
  x.block_n = detail::sm90_block_n(x.d, x.dv, mask != k::kMaskNone, paged, softcap, detail::kSm90LongKeys);
  x.mask = mask;
  x.paged = paged;
  x.softcap = softcap;
  x.sinks = sinks;
  x.pack_gqa = pack;
  x.pingpong = detail::sm90_default_pingpong(x.d, x.dv, mask != k::kMaskNone, dt);
  x.q_stages = detail::sm90_q_stages(x.d, x.dv, x.block_n, x.stages);
  return x;
}

// The split-KV variant of a key, with `warpgroups` consumer warpgroups.
detail::Sm90KernelKey split_key(detail::Sm90KernelKey x, int warpgroups) {
  x.split = true;
  x.warpgroups = warpgroups;
  if (warpgroups == 1) x.pingpong = false;
  return x;
}

detail::Sm90KernelKey with_block_n(detail::Sm90KernelKey x, int block_n) {
  x.block_n = block_n;
  x.q_stages = detail::sm90_q_stages(x.d, x.dv, x.block_n, x.stages);
  return x;
}

detail::Sm90KernelKey fp8_key(int d, int mask, bool paged = false, bool softcap = false, bool sinks = false,
                              bool pack = false, int dv = 0);

// FA3JIT_SM90_SCHED=dynamic's variant of a key (its shared memory holds the tile ring)
detail::Sm90KernelKey dynamic_key(detail::Sm90KernelKey x) {
  x.dynamic = true;
  x.q_stages = detail::sm90_q_stages(x.d, x.dv, x.block_n, x.stages, x.dtype, true);
  return x;
}

// FA3JIT_SM90_WARPGROUPS=3's variant of a d 64 key: 192-row tiles of 128-key blocks
detail::Sm90KernelKey three_wg_key(detail::Sm90KernelKey x) {
  x.warpgroups = 3;
  x.block_n = 128;
  x.q_stages = detail::sm90_q_stages(x.d, x.dv, x.block_n, x.stages, x.dtype, x.dynamic, 192);
  return x;
}

TEST(Sm90Compile, RepresentativeInstancesCompileForSm90a) {
  const std::vector<detail::Sm90KernelKey> keys = {
      key(DType::bf16, 64, k::kMaskNone),
      key(DType::bf16, 128, k::kMaskCausal),
      key(DType::f16, 96, k::kMaskLocal, false, true, true),
      key(DType::bf16, 192, k::kMaskCausal, true, false, false, true),
      key(DType::f16, 256, k::kMaskNone, false, false, true),
      key(DType::bf16, 256, k::kMaskNone, false, true),  // softcap: 64-key blocks
      key(DType::bf16, 128, k::kMaskLocal, true, true, true, true, 64),
      split_key(key(DType::bf16, 128, k::kMaskCausal, true, false, false, true), 1),  // decode: 1 warpgroup
      split_key(key(DType::f16, 64, k::kMaskNone, false, false, false, true), 1),
      split_key(key(DType::bf16, 128, k::kMaskLocal, false, true, true), 2),  // split, 2 warpgroups
      split_key(key(DType::bf16, 256, k::kMaskCausal, true), 1),
      split_key(with_block_n(key(DType::bf16, 128, k::kMaskCausal, true, false, false, true), 64), 1),  // pages of 64
      key(DType::bf16, 256, k::kMaskCausal, true),  // paged d256 prefill: the gather's widest rows
      dynamic_key(key(DType::bf16, 128, k::kMaskCausal)),  // the dynamic tile walk (tile_ring.cuh)
      dynamic_key(key(DType::f16, 256, k::kMaskNone)),
      dynamic_key(fp8_key(128, k::kMaskCausal)),
      three_wg_key(dynamic_key(key(DType::bf16, 64, k::kMaskCausal))),  // 192-row tiles
      three_wg_key(key(DType::f16, 64, k::kMaskLocal, false, false, true, true)),
  };
  expect_compile(keys, [](const detail::Sm90KernelKey& x, const jit::KernelSpec& s) {
    EXPECT_TRUE(s.arch_specific) << x.describe();
    EXPECT_EQ(s.arch, 90);
  });
}

// fp8 e4m3 keys as sm90_key_for builds them (dims 64 / 128 / 256, the fp8 key block).
detail::Sm90KernelKey fp8_key(int d, int mask, bool paged, bool softcap, bool sinks, bool pack, int dv) {
  detail::Sm90KernelKey x = key(DType::fp8_e4m3, d, mask, paged, softcap, sinks, pack, dv);
  x.block_n = detail::sm90_fp8_block_n(x.dv);
  x.q_stages = detail::sm90_q_stages(x.d, x.dv, x.block_n, x.stages, DType::fp8_e4m3);
  return x;
}

// The fp8 variant of the kernel (QGMMA both GEMMs, V transposed in shared
// memory by the producer warpgroup): every head dim and feature flag.
TEST(Sm90Compile, Fp8InstancesCompileForSm90a) {
  std::vector<detail::Sm90KernelKey> keys = {
      fp8_key(64, k::kMaskNone),
      fp8_key(128, k::kMaskCausal),
      fp8_key(256, k::kMaskNone),
      fp8_key(256, k::kMaskLocal, false, true, true),
      fp8_key(128, k::kMaskCausal, true, false, false, true),
      fp8_key(64, k::kMaskLocal, false, true, true, false, 128),
      fp8_key(128, k::kMaskNone),  // 192-key blocks below (FA3JIT_SM90_BLOCK_N=192: a 128 + a half 64-key V^T chunk)
  };
  keys.back().block_n = 192;
  keys.back().q_stages = detail::sm90_q_stages(128, 128, 192, 2, DType::fp8_e4m3);
  // fp8 decode as Auto runs it (an fp8 KV cache, GQA packed): the 1-warpgroup
  // kernel split and not, 128- and 64-key blocks (d256, pages of 64)
  keys.push_back(split_key(fp8_key(128, k::kMaskCausal, true, false, false, true), 1));
  keys.push_back(split_key(fp8_key(256, k::kMaskCausal, true, false, true, true), 1));
  keys.push_back(split_key(with_block_n(fp8_key(128, k::kMaskCausal, true, false, false, true), 64), 1));
  keys.back().q_stages = detail::sm90_q_stages(128, 128, 64, 2, DType::fp8_e4m3);
  keys.push_back(fp8_key(128, k::kMaskCausal, true, false, false, true));
  keys.back().warpgroups = 1;
  keys.back().pingpong = false;
  expect_compile(keys, [](const detail::Sm90KernelKey&, const jit::KernelSpec& s) {
    EXPECT_NE(s.kernel_name.find(", 3, "), std::string::npos) << s.kernel_name;  // kInDtype = fp8
  });
}

TEST(Sm90Specs, Fp8KeysAndSharedMemory) {
  EXPECT_EQ(detail::sm90_fp8_instance_dim(8), 64);
  EXPECT_EQ(detail::sm90_fp8_instance_dim(96), 128);
  EXPECT_EQ(detail::sm90_fp8_instance_dim(192), 256);
  EXPECT_EQ(detail::sm90_fp8_instance_dim(264), 0);
  EXPECT_TRUE(detail::sm90_full_speed_dims(128, 128, DType::fp8_e4m3));
  EXPECT_FALSE(detail::sm90_full_speed_dims(96, 96, DType::fp8_e4m3));
  for (int d : {64, 128, 256})
    for (int dv : {64, 128, 256})
      for (bool paged : {false, true}) {
        const detail::Sm90KernelKey x = fp8_key(d, k::kMaskCausal, paged, false, false, false, dv);
        EXPECT_LE(detail::sm90_smem_bytes(x), 232448) << x.describe();
        EXPECT_EQ(256 % x.block_n, 0) << x.describe() << ": pages of 256 must be usable";
      }
  // the staging buffers and V^T: d128 = 16 KiB Q + 2 x (16 K + 16 V^T + 16 staging) KiB, Q doubled
  EXPECT_EQ(fp8_key(128, k::kMaskNone).q_stages, 2);
  EXPECT_EQ(k::smem_layout(128, 128, 128, 2, 1, 1).bars, (16 + 3 * 32) * 1024);

  ProblemConfig c;
  c.dtype = DType::fp8_e4m3;
  c.descale = true;
  c.d = c.dv = 80;  // padded to 128
  c.causal = true;
  Problem p = make_problem(c);
  const detail::Plan plan = plan_of(c, p);
  const detail::Sm90KernelKey x = detail::sm90_key_for(plan);
  EXPECT_EQ(x.d, 128);
  EXPECT_EQ(x.dv, 128);
  EXPECT_EQ(x.block_n, 128);
  EXPECT_NE(detail::sm90_fwd_spec(x).kernel_name.find("fwd_kernel<128, 128, 128, 2, 3, 1, "), std::string::npos)
      << detail::sm90_fwd_spec(x).kernel_name;
  const DeviceInfo h100 = simulated_h100();
  EXPECT_NO_THROW(detail::check_sm90_supports(plan, h100));
  EXPECT_FALSE(detail::sm90_preferred(plan, h100));  // padded: Auto keeps the sm80 path
}

TEST(Sm90Specs, EveryTileFitsInSharedMemory) {
  for (int d : {64, 96, 128, 192, 256})
    for (int dv : {64, 96, 128, 192, 256}) {
      for (int mask : {k::kMaskNone, k::kMaskCausal})
        for (bool paged : {false, true}) {
          const detail::Sm90KernelKey x = key(DType::bf16, d, mask, paged, false, false, false, dv);
          EXPECT_LE(detail::sm90_smem_bytes(x), 232448) << x.describe();
          EXPECT_EQ(x.block_n % 16, 0) << x.describe();
          if (paged) {
            EXPECT_EQ(256 % x.block_n, 0) << x.describe() << ": pages of 256 must be usable";
          }
        }
    }
}

TEST(Sm90Specs, InstanceDims) {
  EXPECT_EQ(detail::sm90_instance_dim(8), 64);
  EXPECT_EQ(detail::sm90_instance_dim(64), 64);
  EXPECT_EQ(detail::sm90_instance_dim(72), 96);
  EXPECT_EQ(detail::sm90_instance_dim(128), 128);
  EXPECT_EQ(detail::sm90_instance_dim(136), 192);
  EXPECT_EQ(detail::sm90_instance_dim(256), 256);
  EXPECT_EQ(detail::sm90_instance_dim(264), 0);
  EXPECT_TRUE(detail::sm90_full_speed_dims(96, 96));
  EXPECT_FALSE(detail::sm90_full_speed_dims(80, 80));
  EXPECT_FALSE(detail::sm90_full_speed_dims(64, 128));
  EXPECT_TRUE(detail::sm90_can_pack(32, 4));   // 8 q-heads per kv-head
  EXPECT_FALSE(detail::sm90_can_pack(12, 4));  // 3 does not divide 128
  EXPECT_FALSE(detail::sm90_can_pack(4, 4));
}

TEST(Sm90Specs, KeyOfAPlan) {
  ProblemConfig c;
  c.d = c.dv = 80;
  c.causal = true;
  c.window_left = 10;
  c.softcap = 5.f;
  c.sinks = true;
  c.h = 8;
  c.h_k = 2;
  c.seqlens_q = {40, 20};  // 160 packed rows: the 2-warpgroup kernel
  c.seqlens_k = {50, 70};
  Problem p = make_problem(c);
  detail::Plan plan = plan_of(c, p);
  plan.params.pack_gqa = 1;
  const detail::Sm90KernelKey x = detail::sm90_key_for(plan);
  EXPECT_EQ(x.d, 96);
  EXPECT_EQ(x.dv, 96);
  EXPECT_EQ(x.mask, k::kMaskLocal);
  EXPECT_TRUE(x.softcap && x.sinks && x.pack_gqa && x.varlen);
  EXPECT_FALSE(x.paged);
  EXPECT_EQ(x.q_stages, 2);  // d96 (128 columns) with 160-key blocks: two Q tiles fit
  EXPECT_EQ(detail::sm90_q_stages(256, 256, 64, 2), 1);
  EXPECT_EQ(detail::sm90_block_n(256, 256, false, false, false, detail::kSm90LongKeys), 80);
  EXPECT_EQ(detail::sm90_block_n(256, 256, false, false, true, detail::kSm90LongKeys), 64);
  EXPECT_EQ(detail::sm90_block_n(256, 256, true, false, false, detail::kSm90LongKeys), 64);
  // d 64: 128-key blocks up to kSm90ShortKeys keys, 192 beyond; d 128: 128 with a mask too
  EXPECT_EQ(detail::sm90_block_n(64, 64, false, false, false, detail::kSm90ShortKeys), 128);
  EXPECT_EQ(detail::sm90_block_n(64, 64, true, false, false, detail::kSm90ShortKeys + 1), 192);
  EXPECT_EQ(detail::sm90_block_n(128, 128, true, false, false, detail::kSm90LongKeys), 128);
  EXPECT_EQ(detail::sm90_block_n(96, 96, true, false, false, detail::kSm90LongKeys), 160);
  const int flags =
      k::kFlagSoftcap | k::kFlagSinks | k::kFlagPackGqa | k::kFlagPingpong | k::kFlagQDouble | k::kFlagDynamic;
  EXPECT_NE(detail::sm90_fwd_spec(x).kernel_name.find("fwd_kernel<96, 96, 160, 2, 2, 2, " + std::to_string(flags) + ">"),
            std::string::npos)
      << detail::sm90_fwd_spec(x).kernel_name;
}

void expect_not_supported(const detail::Plan& plan, const DeviceInfo& dev, const std::string& names) {
  try {
    detail::check_sm90_supports(plan, dev);
    ADD_FAILURE() << "no error; expected one naming " << names;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotSupported) << e.what();
    EXPECT_NE(std::string(e.what()).find(names), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("sm90"), std::string::npos) << e.what();
  }
}

TEST(Sm90Specs, NotSupportedNamesTheArgument) {
  const DeviceInfo h100 = simulated_h100();
  {
    Problem p = make_problem(ProblemConfig{});
    const detail::Plan plan = plan_of({}, p);
    EXPECT_NO_THROW(detail::check_sm90_supports(plan, h100));
    EXPECT_TRUE(detail::sm90_preferred(plan, h100));
    DeviceInfo a100 = h100;
    a100.major = 8;
    expect_not_supported(plan, a100, "device: sm_80");
    EXPECT_FALSE(detail::sm90_preferred(plan, a100));
  }
  {
    ProblemConfig c;  // fp8 runs here (d = dv = 64: Auto's choice too); pages hold whole key blocks or 8-row multiples dividing them
    c.dtype = DType::fp8_e4m3;
    c.descale = true;
    Problem p = make_problem(c);
    EXPECT_NO_THROW(detail::check_sm90_supports(plan_of(c, p), h100));
    EXPECT_TRUE(detail::sm90_preferred(plan_of(c, p), h100));
    c.page_size = 48;
    Problem paged = make_problem(c);
    expect_not_supported(plan_of(c, paged), h100, "page_size = 48 with fp8 inputs: fp8 pages must be a multiple of the key block (128");
    c.page_size = 64;  // 64-key blocks
    Problem paged64 = make_problem(c);
    EXPECT_EQ(detail::sm90_key_for(plan_of(c, paged64)).block_n, 64);
    EXPECT_NO_THROW(detail::check_sm90_supports(plan_of(c, paged64), h100));
  }
  {  // split-KV runs here, asked for or automatic
    ProblemConfig c;
    c.num_splits = 3;
    Problem p = make_problem(c);
    const detail::Plan plan = plan_of(c, p);
    EXPECT_NO_THROW(detail::check_sm90_supports(plan, h100));
    EXPECT_TRUE(detail::sm90_preferred(plan, h100));
  }
  {
    ProblemConfig c;
    c.page_size = 12;  // not a whole swizzle pattern (8 rows): gathered with cp.async
    Problem p = make_problem(c);
    EXPECT_NO_THROW(detail::check_sm90_supports(plan_of(c, p), h100));
    EXPECT_TRUE(detail::sm90_gathers_pages(plan_of(c, p)));
    c.page_size = 64;  // 64-key blocks
    Problem p64 = make_problem(c);
    EXPECT_NO_THROW(detail::check_sm90_supports(plan_of(c, p64), h100));
  }
  {
    ProblemConfig c;
    c.d = 64;
    c.dv = 512;
    c.max_len = 10;
    Problem p = make_problem(c);
    expect_not_supported(plan_of(c, p), h100, "dv = 512");
  }
  {
    ProblemConfig c;
    c.d = 64;
    c.dv = 128;
    c.qv = true;
    Problem p = make_problem(c);
    expect_not_supported(plan_of(c, p), h100, "qv");
  }
  {
    Problem p = make_problem(ProblemConfig{});
    detail::Plan plan = plan_of({}, p);
    const int rows[2] = {0, 1};
    plan.params.kv_batch_idx = rows;
    expect_not_supported(plan, h100, "cache_batch_idx");
    EXPECT_FALSE(detail::sm90_preferred(plan, h100));
    plan.params.kv_batch_idx = nullptr;
    plan.params.leftpad_k = rows;
    expect_not_supported(plan, h100, "cache_leftpad");
  }
  {
    ProblemConfig c;
    c.d = c.dv = 72;  // runs padded (explicit path), not Auto's choice
    Problem p = make_problem(c);
    const detail::Plan plan = plan_of(c, p);
    EXPECT_NO_THROW(detail::check_sm90_supports(plan, h100));
    EXPECT_FALSE(detail::sm90_preferred(plan, h100));
  }
}

// The kernel's tile walk counts in int: packed query rows and tiles (plus
// one round of CTAs) beyond 2^31 - 1 are refused by name (plans with the
// sizes set directly: such tensors do not fit in a test).
// Page sizes the sm90 path runs: TMA loads multiples of the key block and
// multiples of 8 that divide it (bf16 d128: 128-key blocks, d256: 64, fp8
// d128: 128); other pages are gathered with cp.async for 16-bit inputs and
// refused for fp8. Auto takes sm90 exactly where it runs.
TEST(Sm90Specs, SmallPagesDispatchRule) {
  const DeviceInfo h100 = simulated_h100();
  for (DType dt : {DType::bf16, DType::fp8_e4m3})
    for (int d : {64, 128, 256}) {
      ProblemConfig c;
      c.dtype = dt;
      c.descale = dt == DType::fp8_e4m3;
      c.d = c.dv = d;
      c.seqlens_q = {1, 4};
      c.seqlens_k = {40, 300};
      for (int ps : {1, 3, 8, 12, 16, 24, 32, 48, 64, 100, 128, 256}) {
        c.page_size = ps;
        const Problem p = make_problem(c);
        const detail::Plan plan = plan_of(c, p);
        const int block_n = detail::sm90_plan_block_n(plan);
        const bool by_tma = ps % block_n == 0 || (ps % 8 == 0 && block_n % ps == 0);
        const bool runs = by_tma || dt != DType::fp8_e4m3;
        const std::string what = std::string(dtype_name(dt)) + " d" + std::to_string(d) + " page " + std::to_string(ps) +
                                 " block " + std::to_string(block_n);
        EXPECT_EQ(detail::sm90_gathers_pages(plan), !by_tma) << what;
        if (runs) {
          EXPECT_NO_THROW(detail::check_sm90_supports(plan, h100)) << what;
        } else {
          try {
            detail::check_sm90_supports(plan, h100);
            ADD_FAILURE() << what << ": ran";
          } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::NotSupported) << what;
            EXPECT_NE(std::string(e.what()).find("page_size = " + std::to_string(ps)), std::string::npos) << e.what();
          }
        }
        EXPECT_EQ(detail::sm90_preferred(plan, h100), runs) << what;
      }
    }
}

// A bad value of tuning knob `name` is an error that names it and its rule
// (`rule`); the variable is unset afterwards.
void expect_knob_rejected(const detail::Plan& plan, const char* name, const char* value, const std::string& rule) {
  setenv(name, value, 1);
  try {
    (void)detail::sm90_key_for(plan);
    ADD_FAILURE() << name << "=" << value << ": no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(std::string(name) + " " + rule), std::string::npos) << e.what();
  }
  unsetenv(name);
}

// 16-bit d 64 prefill takes three consumer warpgroups (192-row tiles,
// 128-key blocks, a 192-row Q buffer) by default, except masked calls of
// at most kSm90ShortKeys keys; FA3JIT_SM90_WARPGROUPS=2|3 replaces the
// choice; other head dims, fp8, softcap and pages never take them; a bad
// value is an error naming the variable.
TEST(Sm90Specs, ThreeWarpgroupsKnob) {
  ProblemConfig c;
  c.causal = true;
  c.seqlens_q = c.seqlens_k = {3000, 700};
  Problem p = make_problem(c);
  const detail::Plan plan = plan_of(c, p);
  ProblemConfig short_causal = c;
  short_causal.seqlens_q = short_causal.seqlens_k = {2000, 700};
  Problem sc = make_problem(short_causal);
  EXPECT_EQ(detail::sm90_key_for(plan_of(short_causal, sc)).warpgroups, 2);
  ProblemConfig short_full = short_causal;
  short_full.causal = false;
  Problem sf = make_problem(short_full);
  EXPECT_EQ(detail::sm90_key_for(plan_of(short_full, sf)).warpgroups, 3);
  setenv("FA3JIT_SM90_WARPGROUPS", "2", 1);
  EXPECT_EQ(detail::sm90_key_for(plan).warpgroups, 2);
  setenv("FA3JIT_SM90_WARPGROUPS", "3", 1);
  EXPECT_EQ(detail::sm90_key_for(plan_of(short_causal, sc)).warpgroups, 3);
  unsetenv("FA3JIT_SM90_WARPGROUPS");
  const detail::Sm90KernelKey x = detail::sm90_key_for(plan);
  EXPECT_EQ(x.warpgroups, 3);
  EXPECT_EQ(x.block_n, 128);
  EXPECT_EQ(detail::sm90_block_m(x), 192);
  EXPECT_EQ(detail::sm90_threads(x), 512);
  EXPECT_NE(detail::sm90_fwd_spec(x).kernel_name.find(
                std::to_string(k::kFlagThreeWarpgroups | k::kFlagDynamic | k::kFlagQDouble | k::kFlagPingpong) + ">"),
            std::string::npos)
      << detail::sm90_fwd_spec(x).kernel_name;
  detail::Sm90KernelKey two = x;
  two.warpgroups = 2;
  EXPECT_EQ(detail::sm90_smem_bytes(x), detail::sm90_smem_bytes(two) + 2 * 64 * 128);  // two Q buffers of 64 more rows
  for (auto [d, dt, softcap, page] : {std::tuple{128, DType::bf16, 0.f, 0}, {64, DType::fp8_e4m3, 0.f, 0},
                                      {64, DType::bf16, 5.f, 0}, {64, DType::bf16, 0.f, 128}}) {
    ProblemConfig o = c;
    o.d = o.dv = d;
    o.dtype = dt;
    o.descale = dt == DType::fp8_e4m3;
    o.softcap = softcap;
    o.page_size = page;
    Problem q = make_problem(o);
    EXPECT_EQ(detail::sm90_key_for(plan_of(o, q)).warpgroups, 2) << "d " << d << " softcap " << softcap << " page " << page;
  }
  setenv("FA3JIT_SM90_WARPGROUPS", "3", 1);
  {  // packed GQA: groups that divide 192 rows (64) take three, others (128) two
    for (auto [h, three] : {std::pair{64, true}, {128, false}}) {
      ProblemConfig g = c;
      g.h = h;
      g.h_k = 1;
      g.seqlens_q = {40, 20};
      g.seqlens_k = {300, 200};
      Problem pg = make_problem(g);
      detail::Plan plan_g = plan_of(g, pg);
      plan_g.params.pack_gqa = 1;
      EXPECT_EQ(detail::sm90_key_for(plan_g).warpgroups, three ? 3 : 2) << "group " << h;
    }
  }
  ProblemConfig d128 = c;
  d128.d = d128.dv = 128;
  Problem q128 = make_problem(d128);
  EXPECT_EQ(detail::sm90_key_for(plan_of(d128, q128)).warpgroups, 2);
  // The grid: many waves pay (b16 x 32 heads x 1k rows, b4 x 4k), one wave of 128-row tiles does not
  // (b1 x 32 heads x 512 rows: 128 tiles of 128 rows or 96 of 192 on 132 SMs)
  EXPECT_TRUE(detail::sm90_three_warpgroups_pay(512, 32, 132));  // FA3JIT_SM90_WARPGROUPS=3 (set above)
  unsetenv("FA3JIT_SM90_WARPGROUPS");
  EXPECT_TRUE(detail::sm90_three_warpgroups_pay(1024, 16 * 32, 132));
  EXPECT_TRUE(detail::sm90_three_warpgroups_pay(4096, 4 * 32, 132));
  EXPECT_FALSE(detail::sm90_three_warpgroups_pay(512, 32, 132));
  expect_knob_rejected(plan, "FA3JIT_SM90_WARPGROUPS", "4", "must be 2 or 3");
}

// FA3JIT_SM90_SCHED picks the tile walk: dynamic only where the producer
// warp walks alone and ws is free (not paged, not split); a bad value is
// an error naming the variable.
TEST(Sm90Specs, DynamicTileWalkKnob) {
  ProblemConfig c;
  c.d = c.dv = 128;
  c.causal = true;
  c.seqlens_q = {300, 70};
  c.seqlens_k = {300, 70};
  Problem p = make_problem(c);
  detail::Plan plan = plan_of(c, p);
  const detail::Sm90KernelKey x = detail::sm90_key_for(plan);  // dynamic by default
  EXPECT_TRUE(x.dynamic);
  EXPECT_NE(x.describe().find(" dynamic"), std::string::npos);
  EXPECT_NE(detail::sm90_fwd_spec(x).kernel_name.find(std::to_string(k::kFlagDynamic | k::kFlagQDouble |
                                                                     k::kFlagPingpong) + ">"),
            std::string::npos)
      << detail::sm90_fwd_spec(x).kernel_name;
  const detail::Sm90KernelKey st = detail::sm90_with_static_walk(x);
  EXPECT_FALSE(st.dynamic);
  EXPECT_TRUE(detail::sm90_walk_for_tiles(x, 133, 132).dynamic);
  EXPECT_FALSE(detail::sm90_walk_for_tiles(x, 132, 132).dynamic);  // one tile per CTA: nothing to balance
  EXPECT_EQ(detail::sm90_smem_bytes(x), detail::sm90_smem_bytes(st) + 40);  // the tile ring
  detail::Plan split = plan;
  split.params.num_splits = 3;
  EXPECT_FALSE(detail::sm90_key_for(split).dynamic);
  setenv("FA3JIT_SM90_SCHED", "static", 1);
  EXPECT_FALSE(detail::sm90_key_for(plan).dynamic);
  EXPECT_EQ(detail::sm90_fwd_spec(detail::sm90_key_for(plan)).kernel_name, detail::sm90_fwd_spec(st).kernel_name);
  setenv("FA3JIT_SM90_SCHED", "dynamic", 1);
  EXPECT_TRUE(detail::sm90_key_for(plan).dynamic);
  EXPECT_TRUE(detail::sm90_walk_for_tiles(x, 2, 132).dynamic);  // asked for: even one wave
  unsetenv("FA3JIT_SM90_SCHED");
  expect_knob_rejected(plan, "FA3JIT_SM90_SCHED", "greedy", "must be static or dynamic");
}

// The other tuning knobs reject bad values by name too.
TEST(Sm90Specs, BadKnobValuesAreNamed) {
  ProblemConfig c;
  Problem p = make_problem(c);
  const detail::Plan plan = plan_of(c, p);
  expect_knob_rejected(plan, "FA3JIT_SM90_PINGPONG", "2", "must be 0 or 1");
  expect_knob_rejected(plan, "FA3JIT_SM90_STAGES", "5", "must be 2, 3 or 4");
  setenv("FA3JIT_SM90_STAGES", "3", 1);
  EXPECT_EQ(detail::sm90_key_for(plan).stages, 3);
  setenv("FA3JIT_SM90_PINGPONG", "0", 1);
  EXPECT_FALSE(detail::sm90_key_for(plan).pingpong);
  unsetenv("FA3JIT_SM90_STAGES");
  unsetenv("FA3JIT_SM90_PINGPONG");
}

TEST(Sm90Specs, TileIndicesFitInInt) {
  const DeviceInfo h100 = simulated_h100();
  ProblemConfig c;  // h 4 on h_k 2: 2 packed rows per query
  Problem p = make_problem(c);
  detail::Plan plan = plan_of(c, p);
  plan.params.max_seqlen_q = 1 << 30;
  expect_not_supported(plan, h100, "max_seqlen_q * h / h_k = 2147483648");
  plan.params.max_seqlen_q = (1 << 30) - 1;
  EXPECT_NO_THROW(detail::check_sm90_supports(plan, h100));
  plan.params.max_seqlen_q = 32;  // 1 tile x 4 heads x batch: 2^31 - 4 tiles, + 132 CTAs
  plan.params.batch = (1 << 29) - 1;
  expect_not_supported(plan, h100, "plus a round of 132 CTAs");
  plan.params.batch = (1 << 29) - 64;
  EXPECT_NO_THROW(detail::check_sm90_supports(plan, h100));
}

// Split-KV's combine kernel has h on grid y and batch on grid z (at most
// 65535 each): asked-for splits beyond that are refused by name, before
// anything runs; unsplit, the same batch runs.
TEST(Sm90Specs, SplitsNeedTheCombineGrid) {
  const DeviceInfo h100 = simulated_h100();
  ProblemConfig c;
  c.varlen = false;
  c.batch = 65536;
  c.h = c.h_k = 1;
  c.seqlens_q = {1};
  c.seqlens_k = {2};
  c.num_splits = 2;
  Problem p = make_problem(c);
  expect_not_supported(plan_of(c, p), h100, "batch = 65536 must each be at most 65535");
  EXPECT_FALSE(detail::sm90_preferred(plan_of(c, p), h100));
  c.num_splits = 1;
  Problem unsplit = make_problem(c);
  EXPECT_NO_THROW(detail::check_sm90_supports(plan_of(c, unsplit), h100));
  fa3jit_k::AttnParams params{};
  params.h = 65536;
  params.batch = 1;
  EXPECT_NE(detail::split_combine_grid_error(params, 2).find("h = 65536"), std::string::npos);
  EXPECT_EQ(detail::split_combine_grid_error(params, 1), "");
  params.h = params.batch = 65535;
  EXPECT_EQ(detail::split_combine_grid_error(params, 128), "");
}

TEST(Sm90Specs, WarmupListsSm90aInstancesOnlyForSm90) {
  EXPECT_TRUE(detail::sm90_warmup_specs(80).empty());
  const std::vector<jit::KernelSpec> specs = detail::sm90_warmup_specs(90);
  // per 16-bit dtype: 5 head dims (d 64 twice: short and long key blocks; both non-causal ones are the same
  // 3-warpgroup kernel) x 2 masks x 2 tile walks + 2 x 3 decode kernels
  ASSERT_EQ(specs.size(), 2u * ((6 * 2 - 1) * 2 + 2 * 3));
  for (const jit::KernelSpec& s : specs) {
    EXPECT_TRUE(s.arch_specific);
    EXPECT_EQ(s.entry_file, "sm90/fwd.cu");
  }
  jit::WarmupFilter f;
  f.arch = 90;
  f.head_dims = {64, 100};
  f.causal = 1;
  f.dtypes = {DType::bf16};
  const std::vector<jit::KernelSpec> some = detail::sm90_warmup_family(f);
  // d 64 with the key blocks of short and long sequences, d 100 as 128; each with the dynamic and the
  // static tile walk (two Q buffers, and pingpong: d128 with a mask pingpongs)
  ASSERT_EQ(some.size(), 6u);
  const std::string flags = std::to_string(k::kFlagQDouble | k::kFlagPingpong);
  EXPECT_NE(some[0].kernel_name.find("<64, 64, 128, 2, 2, 1, "), std::string::npos) << some[0].kernel_name;
  EXPECT_NE(some[2].kernel_name.find("<64, 64, 128, 2, 2, 1, " +
                                     std::to_string(k::kFlagThreeWarpgroups | k::kFlagDynamic | k::kFlagQDouble |
                                                    k::kFlagPingpong) +
                                     ">"),
            std::string::npos)
      << some[2].kernel_name;  // long causal: three warpgroups
  EXPECT_NE(some[4].kernel_name.find("<128, 128, 128, 2, 2, 1, " + std::to_string(k::kFlagDynamic | k::kFlagQDouble | k::kFlagPingpong) + ">"),
            std::string::npos)
      << some[4].kernel_name;
  EXPECT_NE(some[5].kernel_name.find("<128, 128, 128, 2, 2, 1, " + flags + ">"), std::string::npos)
      << some[5].kernel_name;
  // fp8: the kernel a causal call with descales runs (d 100 / 96 run padded to 128)
  f.dtypes = {DType::fp8_e4m3};
  f.head_dims = {100, 256};
  const std::vector<jit::KernelSpec> fp8 = detail::sm90_warmup_family(f);
  ASSERT_EQ(fp8.size(), 4u);  // two walks each
  EXPECT_NE(fp8[2].kernel_name.find("<256, 256, 64, 2, 3, 1, "), std::string::npos) << fp8[2].kernel_name;
  ProblemConfig c;
  c.dtype = DType::fp8_e4m3;
  c.descale = true;
  c.causal = true;
  c.d = c.dv = 96;
  c.h = c.h_k = 4;
  c.seqlens_q = c.seqlens_k = {200, 150};
  Problem p = make_problem(c);
  EXPECT_EQ(detail::sm90_fwd_spec(detail::sm90_key_for(plan_of(c, p))).kernel_name, fp8[0].kernel_name);
}

// Decode: one q row per sequence, 32 q-heads on 8 kv-heads, a paged cache
// with splits (the schedule as dispatch resolves it).
detail::Plan decode_plan(int seqlen_q, int num_splits, int page_size, Problem& holder) {
  ProblemConfig c;
  c.batch = 3;
  c.h = 32;
  c.h_k = 8;
  c.d = c.dv = 128;
  c.causal = true;
  c.page_size = page_size;
  c.seqlens_q = {seqlen_q, seqlen_q, seqlen_q};
  c.seqlens_k = {1000, 1, 300};
  c.num_splits = num_splits;
  holder = make_problem(c);
  detail::Plan plan = plan_of(c, holder);
  plan.params.pack_gqa = 1;
  return plan;
}

TEST(Sm90Specs, DecodeTakesTheOneWarpgroupKernelAndSplits) {
  Problem holder;
  const detail::Sm90KernelKey x = detail::sm90_key_for(decode_plan(4, 3, 128, holder));
  EXPECT_EQ(x.warpgroups, 1);  // 4 rows x 4 packed heads = 16 rows
  EXPECT_TRUE(x.split && x.pack_gqa && x.paged);
  EXPECT_FALSE(x.pingpong);
  EXPECT_EQ(detail::sm90_block_m(x), 64);
  EXPECT_EQ(detail::sm90_threads(x), 256);
  EXPECT_NE(x.describe().find("split tile 64x128"), std::string::npos) << x.describe();
  const int flags = k::kFlagPaged | k::kFlagPackGqa | k::kFlagQDouble | k::kFlagSplit |
                    k::kFlagOneWarpgroup;
  EXPECT_NE(detail::sm90_fwd_spec(x).kernel_name.find(", " + std::to_string(flags) + ">"), std::string::npos)
      << detail::sm90_fwd_spec(x).kernel_name;

  const detail::Sm90KernelKey unsplit = detail::sm90_key_for(decode_plan(1, 1, 256, holder));
  EXPECT_EQ(unsplit.warpgroups, 1);
  EXPECT_FALSE(unsplit.split);
  // 17 rows x 4 heads = 68 packed rows: the 128-row kernel
  EXPECT_EQ(detail::sm90_key_for(decode_plan(17, 1, 128, holder)).warpgroups, 2);
  // pages of 64 keys: 64-key blocks
  const detail::Sm90KernelKey p64 = detail::sm90_key_for(decode_plan(1, 1, 64, holder));
  EXPECT_EQ(p64.block_n, 64);
  EXPECT_LE(detail::sm90_smem_bytes(p64), 232448);
  EXPECT_LE(detail::sm90_smem_bytes(x), 232448);

  EXPECT_EQ(detail::sm90_consumer_warpgroups(1), 1);
  EXPECT_EQ(detail::sm90_consumer_warpgroups(64), 1);
  EXPECT_EQ(detail::sm90_consumer_warpgroups(65), 2);
}

TEST(Sm90Specs, PlanTileRowsFollowThePackChoice) {
  Problem holder;
  detail::Plan plan = decode_plan(1, 0, 128, holder);
  plan.pack_gqa_requested = -1;  // auto: packs 1 row x 4 heads
  EXPECT_EQ(detail::sm90_plan_tile_m(plan), 64);
  plan.pack_gqa_requested = 0;
  EXPECT_EQ(detail::sm90_plan_tile_m(plan), 64);  // 1 row unpacked
  plan = decode_plan(20, 0, 128, holder);
  plan.pack_gqa_requested = -1;  // 20 rows x 4 heads = 80 packed rows
  EXPECT_EQ(detail::sm90_plan_tile_m(plan), 128);
  plan.pack_gqa_requested = 0;  // 20 rows unpacked
  EXPECT_EQ(detail::sm90_plan_tile_m(plan), 64);
  // Auto prefers sm90 for a split-wanting decode (the heuristic splits few, long sequences)
  EXPECT_TRUE(detail::sm90_preferred(decode_plan(1, 0, 128, holder), simulated_h100()));
}

}  // namespace
}  // namespace fa3jit::testing
