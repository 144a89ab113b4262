#include "dispatch/sm90_path.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "../../kernels/sm90/paged_boxes.cuh"
#include "../../kernels/sm90/tile_config.cuh"
#include "device/cuda_driver.h"
#include "dispatch/heuristics.h"
#include "dispatch/sm90_specs.h"
#include "dispatch/sm90_tma.h"
#include "dispatch/tile_counter.h"
#include "dispatch/split_kv.h"
#include "fa3jit/error.h"
#include "jit/jit.h"

namespace fa3jit::detail {
namespace {

[[noreturn]] void not_supported(const std::string& what) {
  throw Error(ErrorKind::NotSupported, what + " on the sm90 path");
}

// The q / k / v views as the kernel's tensor maps see them:
// (head dim, heads, rows, batch) with rows the packed token dim (varlen,
// one batch) or the sequence dim (4-D); paged k / v: (.., page rows, pages).
TmaView q_view(const Plan& plan) {
  const fa3jit_k::AttnParams& p = plan.params;
  const bool fixed = p.cu_seqlens_q == nullptr;
  TmaView v;
  v.data = p.q;
  v.cols = p.d;
  v.heads = p.h;
  v.rows = fixed ? (p.batch > 0 ? p.total_q / p.batch : 0) : p.total_q;
  v.batches = fixed ? p.batch : 1;
  v.head_stride = p.q_head_stride;
  v.row_stride = p.q_row_stride;
  v.batch_stride = p.q_batch_stride;
  return v;
}
TmaView kv_view(const Plan& plan, bool is_v) {
  const fa3jit_k::AttnParams& p = plan.params;
  TmaView v;
  v.data = is_v ? p.v : p.k;
  v.cols = is_v ? p.dv : p.d;
  v.heads = p.h_k;
  v.rows = plan.k_rows;
  v.batches = p.page_table ? p.num_pages : (p.cu_seqlens_k ? 1 : p.batch);
  v.head_stride = is_v ? p.v_head_stride : p.k_head_stride;
  v.row_stride = is_v ? p.v_row_stride : p.k_row_stride;
  v.batch_stride = is_v ? p.v_batch_stride : p.k_batch_stride;
  return v;
}

// Whether the key's kernel gathers the plan's pages (pages TMA cannot load).
bool gathers_pages(const fa3jit_k::AttnParams& p, const Sm90KernelKey& key) {
  return p.page_table && !fa3jit_k::sm90::paged_by_tma(p.page_size, key.block_n);
}

// (batch, head) pairs per group of the tile list (kernels/sm90/
// tile_sched.cuh): enough for two rounds of the persistent grid, so that
// the longest-first order balances the CTAs, and no more, so that the CTAs
// running at once share the K/V of few heads in L2.
int tile_group(int64_t m_tiles, int grid) {
  return int(std::clamp<int64_t>((2 * int64_t(grid) + m_tiles - 1) / std::max<int64_t>(m_tiles, 1), 1, 1 << 20));
}

}  // namespace

void check_sm90_supports(const Plan& plan, const DeviceInfo& dev) {
  const fa3jit_k::AttnParams& p = plan.params;
  if (dev.backend != Backend::CUDA) not_supported("device: " + dev.name + " is not a CUDA device");
  if (dev.major != 9 || dev.minor != 0)
    not_supported("device: sm_" + std::to_string(dev.major) + std::to_string(dev.minor) +
                  " is not sm_90 (wgmma / TMA code is built for sm_90a)");
  const bool fp8 = plan.in_dtype == DType::fp8_e4m3;
  if (plan.in_dtype != DType::bf16 && plan.in_dtype != DType::f16 && !fp8)
    not_supported(std::string("q dtype ") + dtype_name(plan.in_dtype) +
                  " is not supported yet (bf16, fp16 and fp8_e4m3 are)");
  const DType out_dtype = fp8 ? DType::bf16 : plan.in_dtype;  // fp8 writes bf16
  if (plan.out_dtype != out_dtype)
    not_supported(std::string("out dtype ") + dtype_name(plan.out_dtype) + " (expected " + dtype_name(out_dtype) + ")");
  if (p.d > 256) not_supported("d = " + std::to_string(p.d) + " is not supported (at most 256)");
  if (p.dv > 256) not_supported("dv = " + std::to_string(p.dv) + " is not supported yet (at most 256)");
  if (p.qv || p.only_qv) not_supported("qv (MLA) is not supported yet");
  // flash_attn_with_kvcache's cache_batch_idx / cache_leftpad: not wired to
  // the TMA coordinates yet (Auto runs them on the sm80 path).
  if (p.kv_batch_idx) not_supported("cache_batch_idx is not supported yet");
  if (p.leftpad_k) not_supported("cache_leftpad is not supported yet");
  const Sm90KernelKey key = sm90_key_for(plan);
  // Pages TMA loads (kernels/sm90/paged_boxes.cuh): multiples of the key
  // block, or whole 8-row swizzle patterns tiling it; other pages are
  // gathered with cp.async (paged_gather.cuh, 16-bit inputs).
  const bool gather = gathers_pages(p, key);
  if (gather && fp8)
    not_supported("page_size = " + std::to_string(p.page_size) + " with fp8 inputs: fp8 pages must be a multiple of the key block (" +
                  std::to_string(key.block_n) + " keys for d = " + std::to_string(key.d) +
                  ") or a multiple of 8 dividing it");
  check_tma_view("q", q_view(plan), plan.in_dtype);
  if (!gather) {  // gathered pages are read without tensor maps
    check_tma_view("k", kv_view(plan, false), plan.in_dtype);
    check_tma_view("v", kv_view(plan, true), plan.in_dtype);
  }
  if (sm90_smem_bytes(key) > dev.smem_per_block)
    not_supported("d = " + std::to_string(p.d) + ", dv = " + std::to_string(p.dv) + ": the tile needs " +
                  std::to_string(sm90_smem_bytes(key)) + " bytes of shared memory, more than " +
                  std::to_string(dev.smem_per_block));
  // The tile list's indices are int: the packed rows of a sequence, and the
  // most tiles any schedule gives (64-row tiles, unpacked, the splits asked
  // for or auto's at most 128) plus one round of CTAs (the walk's
  // round * CTAs passes the last tile by up to one round).
  const int64_t group = p.h_k > 0 ? p.h / p.h_k : 1;
  if (int64_t(p.max_seqlen_q) * group >= (int64_t(1) << 31))
    not_supported("max_seqlen_q * h / h_k = " + std::to_string(int64_t(p.max_seqlen_q) * group) +
                  " (packed query rows) is more than 2^31 - 1");
  const int64_t splits = plan.num_splits_requested > 0 ? plan.num_splits_requested : 128;
  const int64_t tiles = (int64_t(p.max_seqlen_q) * group + 63) / 64 * std::max(p.h, 1) * std::max(p.batch, 1) * splits;
  if (tiles + std::max(dev.sm_count, 1) >= (int64_t(1) << 31))
    not_supported("batch * h * q tiles * num_splits = " + std::to_string(tiles) + " plus a round of " +
                  std::to_string(dev.sm_count) + " CTAs is more than 2^31 - 1");
  // Auto never splits a grid this large (it fills the GPU); asked-for splits
  // need the combine kernel's grid.
  if (const std::string why = split_combine_grid_error(p, plan.num_splits_requested); !why.empty()) not_supported(why);
}

bool sm90_gathers_pages(const Plan& plan) { return gathers_pages(plan.params, sm90_key_for(plan)); }

bool sm90_preferred(const Plan& plan, const DeviceInfo& dev) {
  const fa3jit_k::AttnParams& p = plan.params;
  if (dev.backend != Backend::CUDA || dev.major != 9 || dev.minor != 0) return false;
  if (!sm90_full_speed_dims(p.d, p.dv, plan.in_dtype)) return false;
  try {
    check_sm90_supports(plan, dev);
  } catch (const Error&) {
    return false;
  }
  return true;
}

int sm90_plan_block_n(const Plan& plan) {
  return sm90_key_for(plan).block_n;
}

int sm90_plan_tile_m(const Plan& plan) {
  const fa3jit_k::AttnParams& p = plan.params;
  const bool pack = plan.pack_gqa_requested >= 0 ? plan.pack_gqa_requested == 1
                                                 : choose_pack_gqa(p.max_seqlen_q, p.h, p.h_k, fa3jit_k::sm90::kBlockM);
  const int64_t group = pack && sm90_can_pack(p.h, p.h_k) ? p.h / p.h_k : 1;
  return 64 * sm90_consumer_warpgroups(int64_t(p.max_seqlen_q) * group);
}

void run_sm90(const Plan& plan, const DeviceInfo& dev, CUstream stream) {
  check_sm90_supports(plan, dev);
  fa3jit_k::AttnParams params = plan.params;
  Sm90KernelKey key = sm90_key_for(plan);
  params.pack_gqa = key.pack_gqa ? 1 : 0;
  params.num_splits = key.split ? params.num_splits : 1;
  const int hpack = key.pack_gqa ? params.h / params.h_k : 1;
  const int workers = std::max(1, dev.sm_count - plan.sm_margin);
  const int64_t row_groups = int64_t(key.pack_gqa ? params.h_k : params.h) * params.batch * params.num_splits;
  if (key.warpgroups == 3 && !sm90_three_warpgroups_pay(int64_t(params.max_seqlen_q) * hpack, row_groups, workers))
    key = sm90_key_for(plan, false);
  const int block_m = sm90_block_m(key);
  const int64_t m_tiles = (int64_t(params.max_seqlen_q) * hpack + block_m - 1) / block_m;
  const int64_t tiles = m_tiles * row_groups;
  if (params.batch == 0 || params.total_q == 0 || tiles == 0) return;  // no query row: nothing to write

  key = sm90_walk_for_tiles(key, tiles, workers);

  cuda::set_device(dev.index);
  const jit::Kernel& fwd = jit::get_kernel(sm90_fwd_spec(key), dev.index);
  CUtensorMap tq = encode_tma("q", q_view(plan), plan.in_dtype, hpack, block_m / hpack);
  // No key anywhere (k has no rows): no K/V block is ever loaded, and TMA
  // cannot describe an empty tensor; q's map stands in.
  const TmaView kv = kv_view(plan, false);
  const bool no_keys = kv.rows == 0 || kv.batches == 0 || gathers_pages(params, key);  // no K/V tensor maps
  // Paged: a box holds the block, or one page when pages are smaller.
  const int box_rows = params.page_table ? fa3jit_k::sm90::paged_box_rows(key.block_n, params.page_size) : key.block_n;
  CUtensorMap tk = no_keys ? tq : encode_tma("k", kv, plan.in_dtype, 1, box_rows);
  CUtensorMap tv = no_keys ? tq : encode_tma("v", kv_view(plan, true), plan.in_dtype, 1, box_rows);

  jit::LaunchConfig cfg;
  cfg.grid[0] = unsigned(std::min<int64_t>(tiles, workers));  // persistent: each CTA takes several tiles
  int group = tile_group(m_tiles * params.num_splits, int(cfg.grid[0]));
  cfg.block[0] = unsigned(sm90_threads(key));
  cfg.dynamic_smem = size_t(sm90_smem_bytes(key));
  cfg.stream = stream;
  cfg.programmatic_dependent = true;  // the kernel waits for the previous one itself (common/pdl.cuh)
  if (!key.dynamic) {
    run_with_split_combine(params, plan.out_dtype, 90, dev, stream, plan.workspace, [&](float* ws) {
      void* args[] = {&params, &tq, &tk, &tv, &group, &ws};
      jit::launch(fwd, cfg, args);
    });
    return;
  }
  // The dynamic walk's counter rides in the kernel's ws argument (it never splits).
  TileCounter counter(dev.index, stream, plan.workspace, plan.workspace_bytes);
  float* ws = reinterpret_cast<float*>(counter.get());
  void* args[] = {&params, &tq, &tk, &tv, &group, &ws};
  jit::launch(fwd, cfg, args);
  counter.release();
}

}  // namespace fa3jit::detail
