#include "dispatch/sm80_path.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "device/cuda_driver.h"
#include "dispatch/sm80_specs.h"
#include "dispatch/split_kv.h"
#include "fa3jit/error.h"
#include "jit/jit.h"

namespace fa3jit::detail {
namespace {

constexpr int64_t kMaxGridYZ = 65535;

[[noreturn]] void not_supported(const std::string& what) {
  throw Error(ErrorKind::NotSupported, what + " on the sm80 path");
}

// cp.async / 8-byte loads read 8-element chunks: every stride of a q / k /
// v / qv view must be a multiple of 8 elements and the data aligned.
void check_chunked(const char* name, const void* data, size_t elem_bytes, std::initializer_list<int64_t> strides) {
  if (!data) return;
  const size_t align = elem_bytes == 1 ? 8 : 16;
  if (reinterpret_cast<uintptr_t>(data) % align != 0)
    not_supported(std::string(name) + ": data must be " + std::to_string(align) + "-byte aligned");
  for (int64_t s : strides)
    if (s % 8 != 0)
      not_supported(std::string(name) + ": strides (other than the last dim's) must be multiples of 8 elements, got " +
                    std::to_string(s));
}

// The device as the tile choice sees it: FA3JIT_SM80_MAX_SMEM (bytes) caps
// the shared memory planned for, so that the tiles of smaller GPUs (e.g.
// the single-stage pipeline of 99 KiB parts) can be tested on a big one.
DeviceInfo planning_device(const DeviceInfo& dev) {
  DeviceInfo d = dev;
  if (const char* cap = std::getenv("FA3JIT_SM80_MAX_SMEM"); cap && *cap) {
    char* end = nullptr;
    const long v = std::strtol(cap, &end, 10);
    if (*end != '\0' || v <= 0)
      throw Error(ErrorKind::InvalidValue,
                  std::string("FA3JIT_SM80_MAX_SMEM must be a positive number of bytes, got '") + cap + "'");
    d.smem_per_block = std::min<long>(d.smem_per_block, v);
  }
  return d;
}

// FA3JIT_SM80_TILE=MxNxWxS (block_m x block_n x warps x stages) replaces
// the tile choice: for tuning on a new GPU. Checked like any argument.
Sm80KernelKey planned_key(const Plan& plan, const DeviceInfo& dev) {
  Sm80KernelKey key = sm80_key_for(plan, dev);
  const char* text = std::getenv("FA3JIT_SM80_TILE");
  if (!text || !*text) return key;
  Sm80Tile t;
  char tail = 0;
  const bool parsed = std::sscanf(text, "%dx%dx%dx%d%c", &t.block_m, &t.block_n, &t.warps, &t.stages, &tail) == 4;
  const bool valid = parsed && t.warps >= 1 && t.warps <= 8 && t.block_m % (16 * t.warps) == 0 &&
                     t.block_m / (16 * t.warps) >= 1 && t.block_m / (16 * t.warps) <= 2 && t.block_n >= 16 &&
                     t.block_n <= 128 && t.block_n % 16 == 0 && (t.stages == 1 || t.stages == 2);
  if (!valid)
    throw Error(ErrorKind::InvalidValue,
                std::string("FA3JIT_SM80_TILE must be MxNxWxS with M a multiple of 16*W (1 or 2 m16 tiles a warp), "
                            "N a multiple of 16 up to 128, W <= 8 warps, S = 1 or 2 stages; got '") + text + "'");
  key.tile = t;
  if (sm80_smem_bytes(key) > dev.smem_per_block)
    throw Error(ErrorKind::InvalidValue, std::string("FA3JIT_SM80_TILE '") + text + "' needs " +
                                             std::to_string(sm80_smem_bytes(key)) + " bytes of shared memory, more than " +
                                             std::to_string(dev.smem_per_block));
  return key;
}

void check_grid(const fa3jit_k::AttnParams& p, int num_splits, bool pack_gqa) {
  const int64_t heads = pack_gqa ? p.h_k : p.h;
  if (heads > kMaxGridYZ) not_supported("h = " + std::to_string(heads) + " is more than 65535 heads");
  if (int64_t(p.batch) * num_splits > kMaxGridYZ)
    not_supported("batch * num_splits = " + std::to_string(int64_t(p.batch) * num_splits) + " is more than 65535");
}

}  // namespace

void check_sm80_supports(const Plan& plan, const DeviceInfo& device) {
  const fa3jit_k::AttnParams& p = plan.params;
  const DeviceInfo dev = planning_device(device);
  if (dev.backend != Backend::CUDA) not_supported("device: " + dev.name + " is not a CUDA device");
  if (dev.major < 8)
    not_supported("device: sm_" + std::to_string(dev.major) + std::to_string(dev.minor) + " is below sm_80");
  if (plan.in_dtype != DType::bf16 && plan.in_dtype != DType::f16 && plan.in_dtype != DType::fp8_e4m3)
    not_supported(std::string("q dtype ") + dtype_name(plan.in_dtype) + " is not supported");
  const DType want_out = plan.in_dtype == DType::fp8_e4m3 ? DType::bf16 : plan.in_dtype;
  if (plan.out_dtype != want_out)
    not_supported(std::string("out dtype ") + dtype_name(plan.out_dtype) + " (expected " + dtype_name(want_out) +
                  ")");
  if (p.d > 256) not_supported("d = " + std::to_string(p.d) + " is not supported yet (at most 256)");
  if (p.dv > 256) not_supported("dv = " + std::to_string(p.dv) + " is not supported yet");
  const size_t es = dtype_size(plan.in_dtype);
  check_chunked("q", p.q, es, {p.q_batch_stride, p.q_row_stride, p.q_head_stride});
  check_chunked("k", p.k, es, {p.k_batch_stride, p.k_row_stride, p.k_head_stride});
  check_chunked("v", p.v, es, {p.v_batch_stride, p.v_row_stride, p.v_head_stride});
  check_chunked("qv", p.qv, es, {p.qv_batch_stride, p.qv_row_stride, p.qv_head_stride});
  const Sm80KernelKey key = planned_key(plan, dev);
  if (key.tile.block_m == 0)
    not_supported("d = " + std::to_string(p.d) + ", dv = " + std::to_string(p.dv) +
                  (key.qv || key.only_qv ? " with qv" : "") + ": the tile does not fit in " +
                  std::to_string(dev.smem_per_block) + " bytes of shared memory");
  check_grid(p, std::max(1, plan.num_splits_requested), plan.pack_gqa_requested == 1);
}

void run_sm80(const Plan& plan, const DeviceInfo& device, CUstream stream) {
  const fa3jit_k::AttnParams& p = plan.params;
  const DeviceInfo dev = planning_device(device);
  check_grid(p, p.num_splits, p.pack_gqa != 0);
  const Sm80KernelKey key = planned_key(plan, dev);
  if (key.tile.block_m == 0) check_sm80_supports(plan, dev);  // throws with the reason
  const int hpack = key.pack_gqa ? p.h / p.h_k : 1;
  const int64_t m_tiles = (int64_t(p.max_seqlen_q) * hpack + key.tile.block_m - 1) / key.tile.block_m;
  if (p.batch == 0 || p.total_q == 0 || m_tiles == 0) return;  // no query row: nothing to write

  cuda::set_device(dev.index);
  const jit::Kernel& fwd = jit::get_kernel(sm80_fwd_spec(key), dev.index);
  jit::LaunchConfig cfg;
  cfg.grid[0] = unsigned(m_tiles);
  cfg.grid[1] = unsigned(key.pack_gqa ? p.h_k : p.h);
  cfg.grid[2] = unsigned(p.batch * (key.split ? p.num_splits : 1));
  cfg.block[0] = unsigned(32 * key.tile.warps);
  cfg.dynamic_smem = size_t(sm80_smem_bytes(key));
  cfg.stream = stream;
  fa3jit_k::AttnParams params = p;
  run_with_split_combine(params, plan.out_dtype, key.arch, dev, stream, plan.workspace, [&](float* ws) {
    void* args[] = {&params, &ws};
    jit::launch(fwd, cfg, args);
  });
}

}  // namespace fa3jit::detail
