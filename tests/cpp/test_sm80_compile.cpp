// The sm80 path without a GPU: key selection (padding, tiles, features,
// unsupported combinations) and NVRTC compiles of a representative set of
// kernel specializations for sm_80 and sm_90 into a fresh cache directory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <future>
#include <string>
#include <vector>

#include "dispatch/sm80_path.h"
#include "dispatch/sm80_specs.h"
#include "fa3jit/error.h"
#include "jit/jit.h"
#include "kernels/sm80/tile_config.cuh"
#include "testing/problem.h"
#include "validate/plan.h"

namespace fa3jit::detail {
namespace {

namespace k = fa3jit_k::sm80;

DeviceInfo fake_gpu(int major, int minor, int smem) {
  DeviceInfo d;
  d.backend = Backend::CUDA;
  d.name = "simulated sm_" + std::to_string(major) + std::to_string(minor);
  d.major = major;
  d.minor = minor;
  d.runtime_version = version_number(12, 8);
  d.sm_count = 100;
  d.smem_per_block = smem;
  return d;
}
const DeviceInfo kH100 = fake_gpu(9, 0, 227 * 1024);
const DeviceInfo kRtx = fake_gpu(8, 6, 99 * 1024);

Plan plan_of(const testing::ProblemConfig& cfg) {
  const testing::Problem p = testing::make_problem(cfg);
  Plan plan = validate_varlen_args(p.args(), nullptr);
  plan.params.num_splits = std::max(1, cfg.num_splits);
  return plan;
}

TEST(Sm80Keys, PadsHeadDimsToMultiplesOf32) {
  EXPECT_EQ(sm80_padded_dim(8), 32);
  EXPECT_EQ(sm80_padded_dim(32), 32);
  EXPECT_EQ(sm80_padded_dim(40), 64);
  EXPECT_EQ(sm80_padded_dim(136), 160);
  EXPECT_EQ(sm80_padded_dim(256), 256);
}

TEST(Sm80Keys, TilesFitTheSharedMemory) {
  for (int d : {32, 64, 96, 128, 160, 192, 224, 256})
    for (int smem : {99 * 1024, 163 * 1024, 227 * 1024})
      for (int arch : {80, 90})
        for (int extra = 0; extra < 4; ++extra) {
          const bool qv = extra & 1, softcap = extra & 2;
          const Sm80Tile t = sm80_choose_tile(d, d, qv, smem, arch, softcap);
          ASSERT_GT(t.block_m, 0) << "d " << d << " smem " << smem << " qv " << qv << " arch " << arch;
          EXPECT_LE(k::fwd_smem_bytes(d, d, t.block_m, t.block_n, qv, t.stages), smem);
          EXPECT_TRUE(t.stages == 1 || t.stages == 2);
          EXPECT_EQ(t.block_m % (16 * t.warps), 0);
          EXPECT_LE(t.block_m / (16 * t.warps), 2) << "at most 2 m16 tiles per warp (registers)";
        }
  // Two m16 tiles a warp at d <= 128 (K / V fragments feed two MMAs).
  const Sm80Tile d64 = sm80_choose_tile(64, 64, false, 227 * 1024);
  EXPECT_EQ(d64.block_m / (16 * d64.warps), 2);
  EXPECT_EQ(d64.block_n, 128);
  const Sm80Tile d128 = sm80_choose_tile(128, 128, false, 227 * 1024);
  EXPECT_EQ(d128.block_m / (16 * d128.warps), 2);
  EXPECT_EQ(d128.block_n, 64);
  // Register-bound choices: sm_8x at d = 128, softcap / qv at d = 64.
  EXPECT_EQ(sm80_choose_tile(128, 128, false, 163 * 1024, 80).block_n, 32);
  EXPECT_EQ(sm80_choose_tile(64, 64, false, 227 * 1024, 90, true).block_n, 64);
  EXPECT_EQ(sm80_choose_tile(64, 64, true, 227 * 1024).block_n, 64);
  EXPECT_EQ(d64.stages, 2) << "two double-buffered CTAs fit in 227 KB";
  EXPECT_EQ(sm80_choose_tile(64, 64, false, 163 * 1024, 80).stages, 1);
  // d = 256: two 4-warp CTAs where they fit (H100), else one 8-warp CTA.
  EXPECT_EQ(sm80_choose_tile(256, 256, false, 227 * 1024).warps, 4);
  EXPECT_EQ(sm80_choose_tile(256, 256, false, 163 * 1024, 80).block_m, 128);
  EXPECT_EQ(sm80_choose_tile(256, 256, false, 99 * 1024).block_m, 128);
  EXPECT_EQ(sm80_choose_tile(256, 256, false, 80 * 1024).block_m, 64);
  EXPECT_EQ(sm80_choose_tile(256, 256, true, 16 * 1024).block_m, 0);
}

TEST(Sm80Keys, KeyFollowsThePlan) {
  testing::ProblemConfig cfg;
  cfg.d = 72;
  cfg.dv = 40;
  cfg.causal = true;
  cfg.page_size = 16;
  cfg.softcap = 20.f;
  cfg.sinks = true;
  cfg.num_splits = 3;
  Sm80KernelKey key = sm80_key_for(plan_of(cfg), kH100);
  EXPECT_EQ(key.arch, 90);
  EXPECT_EQ(key.d, 96);
  EXPECT_EQ(key.dv, 64);
  EXPECT_EQ(key.mask, k::kMaskCausal);
  EXPECT_TRUE(key.paged && key.softcap && key.sinks && key.split);
  EXPECT_FALSE(key.qv || key.only_qv || key.pack_gqa);
  EXPECT_NE(key.describe().find("causal paged"), std::string::npos) << key.describe();

  cfg = testing::ProblemConfig{};
  cfg.window_left = 8;
  cfg.causal = true;
  key = sm80_key_for(plan_of(cfg), kRtx);
  EXPECT_EQ(key.mask, k::kMaskLocal) << "causal with a left window is a local mask";
  EXPECT_EQ(key.arch, 86);
  cfg = testing::ProblemConfig{};
  cfg.attention_chunk = 32;
  EXPECT_EQ(sm80_key_for(plan_of(cfg), kRtx).mask, k::kMaskLocal);
  cfg = testing::ProblemConfig{};
  EXPECT_EQ(sm80_key_for(plan_of(cfg), kRtx).mask, k::kMaskNone);
}

TEST(Sm80Keys, SpecsNameDistinctInstances) {
  Sm80KernelKey a, b;
  a.tile = b.tile = sm80_choose_tile(128, 128, false, 227 * 1024);
  b.split = true;
  EXPECT_NE(sm80_fwd_spec(a).kernel_name, sm80_fwd_spec(b).kernel_name);
  EXPECT_EQ(sm80_fwd_spec(a).entry_file, "sm80/fwd.cu");
  EXPECT_FALSE(sm80_fwd_spec(a).arch_specific);
  EXPECT_NE(combine_spec(80, DType::bf16).kernel_name, combine_spec(80, DType::f16).kernel_name);
  const std::vector<jit::KernelSpec> w = sm80_warmup_specs(90);
  EXPECT_GE(w.size(), 12u);
  for (const jit::KernelSpec& s : w) EXPECT_EQ(s.arch, 90);
}

void expect_not_supported(const testing::ProblemConfig& cfg, const DeviceInfo& dev, const std::string& needle) {
  const Plan plan = plan_of(cfg);
  try {
    check_sm80_supports(plan, dev);
    ADD_FAILURE() << "expected NotSupported mentioning \"" << needle << "\"";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotSupported);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Sm80Support, RejectsWhatItCannotRunNamingTheArgument) {
  testing::ProblemConfig cfg;
  cfg.d = 64;
  cfg.dv = 512;
  expect_not_supported(cfg, kH100, "dv = 512");
  expect_not_supported(testing::ProblemConfig{}, fake_gpu(7, 5, 64 * 1024), "sm_75 is below sm_80");
  EXPECT_NO_THROW(check_sm80_supports(plan_of(testing::ProblemConfig{}), kH100));
  EXPECT_NO_THROW(check_sm80_supports(plan_of(testing::ProblemConfig{}), kRtx));
}

TEST(Sm80Support, TileOverrideIsChecked) {
  const Plan plan = plan_of(testing::ProblemConfig{});
  for (const char* bad : {"128x64x8", "100x64x4x1", "128x64x8x3", "64x24x4x1"}) {
    setenv("FA3JIT_SM80_TILE", bad, 1);
    try {
      check_sm80_supports(plan, kH100);
      ADD_FAILURE() << "FA3JIT_SM80_TILE=" << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::InvalidValue);
      EXPECT_NE(std::string(e.what()).find("FA3JIT_SM80_TILE"), std::string::npos) << e.what();
    }
  }
  setenv("FA3JIT_SM80_TILE", "64x32x4x2", 1);
  EXPECT_NO_THROW(check_sm80_supports(plan, kH100));
  unsetenv("FA3JIT_SM80_TILE");
}

// ---- NVRTC compiles (no GPU needed), into a fresh cache directory.

class Sm80Compile : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* old = std::getenv("FA3JIT_CACHE_DIR");
    if (old) old_cache_ = old;
    dir_ = std::filesystem::temp_directory_path() / ("fa3jit_sm80_compile_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    setenv("FA3JIT_CACHE_DIR", dir_.c_str(), 1);
  }
  void TearDown() override {
    if (old_cache_.empty()) unsetenv("FA3JIT_CACHE_DIR");
    else setenv("FA3JIT_CACHE_DIR", old_cache_.c_str(), 1);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::filesystem::path dir_;
  std::string old_cache_;
};

std::vector<Sm80KernelKey> representative_keys(int arch) {
  std::vector<Sm80KernelKey> keys;
  auto add = [&](DType dt, int d, int dv, int mask, auto&& tweak) {
    Sm80KernelKey key;
    key.arch = arch;
    key.dtype = dt;
    key.d = d;
    key.dv = dv;
    key.mask = mask;
    tweak(key);
    key.tile = sm80_choose_tile(d, dv, key.qv || key.only_qv, sm80_default_smem(arch), arch, key.softcap);
    keys.push_back(key);
  };
  auto none = [](Sm80KernelKey&) {};
  add(DType::bf16, 128, 128, k::kMaskNone, none);
  add(DType::f16, 64, 64, k::kMaskCausal, none);
  add(DType::bf16, 256, 256, k::kMaskCausal, none);
  add(DType::bf16, 128, 128, k::kMaskCausal, [](Sm80KernelKey& key) {
    key.paged = key.split = key.pack_gqa = true;
  });
  add(DType::f16, 64, 64, k::kMaskLocal, [](Sm80KernelKey& key) { key.softcap = key.sinks = true; });
  add(DType::bf16, 96, 64, k::kMaskNone, [](Sm80KernelKey& key) { key.split = true; });
  add(DType::fp8_e4m3, 128, 128, k::kMaskCausal, none);
  add(DType::bf16, 64, 128, k::kMaskNone, [](Sm80KernelKey& key) { key.qv = true; });
  add(DType::bf16, 64, 128, k::kMaskCausal, [](Sm80KernelKey& key) { key.only_qv = true; });
  for (bool qv : {false, true}) {  // the double-buffered pipeline (FA3JIT_SM80_TILE), with and without qv
    add(DType::bf16, 128, 128, k::kMaskCausal, [qv](Sm80KernelKey& key) { key.qv = qv; });
    keys.back().tile.stages = 2;
  }
  return keys;
}

TEST_F(Sm80Compile, RepresentativeSpecsCompileForSm80AndSm90) {
  std::vector<jit::KernelSpec> specs;
  for (int arch : {80, 90}) {
    for (const Sm80KernelKey& key : representative_keys(arch)) specs.push_back(sm80_fwd_spec(key));
    specs.push_back(combine_spec(arch, DType::bf16));
    specs.push_back(combine_spec(arch, DType::f16));
  }
  // Compiles run in parallel (each is one NVRTC program).
  std::vector<std::future<std::vector<char>>> cubins;
  for (const jit::KernelSpec& s : specs)
    cubins.push_back(std::async(std::launch::async, [s] { return jit::get_cubin(s); }));
  for (size_t i = 0; i < specs.size(); ++i) {
    try {
      const std::vector<char> cubin = cubins[i].get();
      EXPECT_GT(cubin.size(), 1000u) << specs[i].kernel_name;
    } catch (const Error& e) {
      ADD_FAILURE() << specs[i].kernel_name << " (sm_" << specs[i].arch << "): " << e.what();
    }
  }
}

}  // namespace
}  // namespace fa3jit::detail
