#include "dispatch/sm80_specs.h"

#include <algorithm>

#include "dispatch/fwd_key_common.h"

#include "../../kernels/sm80/tile_config.cuh"

namespace fa3jit::detail {
namespace k = fa3jit_k::sm80;

namespace {

int flags_of(const Sm80KernelKey& key) {
  int f = 0;
  if (key.paged) f |= k::kFlagPaged;
  if (key.softcap) f |= k::kFlagSoftcap;
  if (key.sinks) f |= k::kFlagSinks;
  if (key.qv) f |= k::kFlagQv;
  if (key.only_qv) f |= k::kFlagOnlyQv;
  if (key.split) f |= k::kFlagSplit;
  if (key.pack_gqa) f |= k::kFlagPackGqa;
  return f;
}

}  // namespace

std::string Sm80KernelKey::describe() const {
  std::string s = "sm80 fwd sm_" + std::to_string(arch) + " " + dtype_name(dtype) + " d" + std::to_string(d) +
                  "/dv" + std::to_string(dv) + " " + fwd_mask_name(mask);
  if (paged) s += " paged";
  if (varlen) s += " varlen";
  if (softcap) s += " softcap";
  if (sinks) s += " sinks";
  if (only_qv) s += " only_qv";
  else if (qv) s += " qv";
  if (split) s += " split";
  if (pack_gqa) s += " pack_gqa";
  s += " tile " + std::to_string(tile.block_m) + "x" + std::to_string(tile.block_n) + " w" +
       std::to_string(tile.warps) + " s" + std::to_string(tile.stages);
  return s;
}

int sm80_padded_dim(int d) { return std::max(32, (d + 31) / 32 * 32); }

int sm80_default_smem(int arch) {
  if (arch == 80 || arch == 87) return 163 * 1024;
  if (arch == 90 || arch == 100) return 227 * 1024;
  return 99 * 1024;
}

Sm80Tile sm80_choose_tile(int d_pad, int dv_pad, bool has_qv, int smem_limit, int arch, bool softcap) {
  const int dmax = std::max(d_pad, dv_pad);
  // Preferred first; a warp holds 16 rows per m-tile, at most 2 m-tiles
  // (register budget: O is 16 x dv fp32 per m-tile). Two m-tiles a warp
  // halve the K / V fragment reads per MMA, and 4-warp CTAs of <= 255
  // registers run two to an SM. The first choice of each size is the
  // largest that ptxas fits in 255 registers without spilling (checked
  // for sm_80 and sm_90, every feature): qv's extra GEMM and softcap take
  // smaller tiles, and sm_8x fits 32-key blocks at d = 128.
  std::vector<Sm80Tile> order;
  if (dmax <= 64) {
    if (!has_qv && !softcap) order.push_back({128, 128, 4});
    order.insert(order.end(), {{128, 64, 4}, {64, 64, 4}, {64, 32, 4}});
  } else if (dmax <= 128) {
    if (has_qv) order.push_back({128, 64, 8});
    else if (arch >= 90) order.push_back({128, 64, 4});
    order.insert(order.end(), {{128, 32, 4}, {64, 64, 4}, {64, 32, 4}});
  } else {
    // 4-warp 64x64 CTAs when two fit in the shared memory (H100: two CTAs
    // of 101 KB at d = 256), else one 8-warp 128x64 CTA (A100).
    auto bytes = [&](const Sm80Tile& t, int stages) {
      return k::fwd_smem_bytes(d_pad, dv_pad, t.block_m, t.block_n, has_qv, stages);
    };
    if (2 * bytes({64, 64, 4}, 1) <= smem_limit) order.push_back({64, 64, 4});
    order.insert(order.end(), {{128, 64, 8}, {128, 32, 8}, {64, 64, 4}, {64, 32, 4}});
  }
  for (Sm80Tile t : order) {
    const int one = k::fwd_smem_bytes(d_pad, dv_pad, t.block_m, t.block_n, has_qv, 1);
    if (one > smem_limit) continue;
    // Double-buffered K/V only where two CTAs still fit: measured on an
    // H100 at d = 64, 128x128: +1-2%; at d = 128, 128x64: 7% slower.
    const int two = k::fwd_smem_bytes(d_pad, dv_pad, t.block_m, t.block_n, has_qv, 2);
    t.stages = dmax <= 64 && t.warps == 4 && t.block_n == 128 && 2 * two <= smem_limit ? 2 : 1;
    return t;
  }
  return Sm80Tile{0, 0, 0, 0};
}

int sm80_smem_bytes(const Sm80KernelKey& key) {
  return k::fwd_smem_bytes(key.d, key.dv, key.tile.block_m, key.tile.block_n, key.qv || key.only_qv, key.tile.stages);
}

Sm80KernelKey sm80_key_for(const Plan& plan, const DeviceInfo& dev) {
  const fa3jit_k::AttnParams& p = plan.params;
  Sm80KernelKey key;
  key.arch = dev.major * 10 + dev.minor;
  key.dtype = plan.in_dtype;
  key.d = sm80_padded_dim(p.d);
  key.dv = sm80_padded_dim(p.dv);
  key.mask = fwd_mask_kind(p);
  key.paged = p.page_table != nullptr;
  key.varlen = fwd_is_varlen(p);
  key.softcap = p.softcap > 0.f;
  key.sinks = p.sinks != nullptr;
  key.only_qv = p.only_qv != 0;
  key.qv = p.qv != nullptr && !key.only_qv;
  key.split = p.num_splits > 1;
  key.pack_gqa = p.pack_gqa != 0 && p.h != p.h_k;
  key.tile = sm80_choose_tile(key.d, key.dv, key.qv || key.only_qv, dev.smem_per_block, key.arch, key.softcap);
  return key;
}

jit::KernelSpec sm80_fwd_spec(const Sm80KernelKey& key) {
  jit::KernelSpec spec;
  spec.entry_file = "sm80/fwd.cu";
  spec.kernel_name = "fa3jit_k::sm80::fwd_kernel<" + std::to_string(key.d) + ", " + std::to_string(key.dv) + ", " +
                     std::to_string(key.tile.block_m) + ", " + std::to_string(key.tile.block_n) + ", " +
                     std::to_string(key.tile.warps) + ", " + std::to_string(key.tile.stages) + ", " +
                     std::to_string(int(key.dtype)) + ", " +
                     std::to_string(key.mask) + ", " + std::to_string(flags_of(key)) + ">";
  spec.arch = key.arch;
  spec.arch_specific = false;  // mma.sync / cp.async run on every sm_80+
  return spec;
}

jit::KernelSpec combine_spec(int arch, DType out_dtype) {
  jit::KernelSpec spec;
  spec.entry_file = "combine.cu";
  spec.kernel_name = "fa3jit_k::combine_splits<" + std::to_string(int(out_dtype)) + ">";
  spec.arch = arch;
  return spec;
}

std::vector<jit::KernelSpec> sm80_warmup_specs(int arch) {
  std::vector<jit::KernelSpec> specs;
  const int smem = sm80_default_smem(arch);
  auto add = [&](Sm80KernelKey key) {
    key.arch = arch;
    key.tile = sm80_choose_tile(key.d, key.dv, key.qv || key.only_qv, smem, key.arch, key.softcap);
    if (key.tile.block_m > 0) specs.push_back(sm80_fwd_spec(key));
  };
  for (DType dt : {DType::bf16, DType::f16}) {
    for (int d : {64, 128, 256}) {
      for (int mask : {int(k::kMaskNone), int(k::kMaskCausal)}) {
        Sm80KernelKey key;
        key.dtype = dt;
        key.d = key.dv = d;
        key.mask = mask;
        add(key);
      }
    }
    // Decode on a paged cache: split-KV, GQA packed, causal.
    for (int d : {64, 128}) {
      Sm80KernelKey key;
      key.dtype = dt;
      key.d = key.dv = d;
      key.mask = k::kMaskCausal;
      key.paged = true;
      key.split = true;
      key.pack_gqa = true;
      add(key);
      key.split = false;
      add(key);
    }
    specs.push_back(combine_spec(arch, dt));
  }
  return specs;
}

}  // namespace fa3jit::detail
