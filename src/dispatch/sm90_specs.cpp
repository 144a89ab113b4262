#include "dispatch/sm90_specs.h"

#include <algorithm>
#include <cstdlib>
#include <initializer_list>
#include <optional>

#include "dispatch/fwd_key_common.h"
#include "fa3jit/error.h"

#include "../../kernels/sm90/tile_config.cuh"

namespace fa3jit::detail {
namespace k = fa3jit_k::sm90;

namespace {

int flags_of(const Sm90KernelKey& key) {
  int f = 0;
  if (key.paged) f |= k::kFlagPaged;
  if (key.softcap) f |= k::kFlagSoftcap;
  if (key.sinks) f |= k::kFlagSinks;
  if (key.pack_gqa) f |= k::kFlagPackGqa;
  if (key.pingpong) f |= k::kFlagPingpong;
  if (key.q_stages == 2) f |= k::kFlagQDouble;
  if (key.split) f |= k::kFlagSplit;
  if (key.warpgroups == 1) f |= k::kFlagOneWarpgroup;
  if (key.warpgroups == 3) f |= k::kFlagThreeWarpgroups;
  if (key.dynamic) f |= k::kFlagDynamic;
  return f;
}

int q_rows(const Sm90KernelKey& key) { return k::q_rows_of(flags_of(key)); }

// 192-row tiles take 128-key blocks at most (the consumers' 160 registers).
Sm90KernelKey with_three_warpgroups(Sm90KernelKey key) {
  key.warpgroups = 3;
  key.block_n = std::min(key.block_n, 128);
  return key;
}

// The key with the given tile walk; q_stages follows its shared memory
// (the dynamic walk's ring, the Q rows).
Sm90KernelKey with_walk(Sm90KernelKey key, bool dynamic) {
  key.dynamic = dynamic;
  key.q_stages = sm90_q_stages(key.d, key.dv, key.block_n, key.stages, key.dtype, dynamic, q_rows(key));
  return key;
}

// The value of tuning knob `name` when set: one of `allowed`, else an
// error naming the knob and `rule` (the allowed values in words).
std::optional<std::string> knob(const char* name, std::initializer_list<const char*> allowed, const char* rule) {
  const char* text = std::getenv(name);
  if (!text || !*text) return std::nullopt;
  const std::string t = text;
  if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return t == a; }))
    throw Error(ErrorKind::InvalidValue, std::string(name) + " must be " + rule + "; got '" + t + "'");
  return t;
}

// FA3JIT_SM90_WARPGROUPS=2|3 (three: true); none when unset.
std::optional<bool> three_warpgroups_knob() {
  const auto v = knob("FA3JIT_SM90_WARPGROUPS", {"2", "3"}, "2 or 3");
  return v ? std::optional<bool>(*v == "3") : std::nullopt;
}

// FA3JIT_SM90_SCHED=static|dynamic (dynamic: true); none when unset.
std::optional<bool> dynamic_walk_knob() {
  const auto v = knob("FA3JIT_SM90_SCHED", {"static", "dynamic"}, "static or dynamic");
  return v ? std::optional<bool>(*v == "dynamic") : std::nullopt;
}

// A prefill key's two instances, each once: the dynamic walk (more tiles
// than CTAs) and the static one (one wave or less).
void add_both_walks(std::vector<jit::KernelSpec>& specs, const Sm90KernelKey& key) {
  for (bool dynamic : {true, false}) {
    jit::KernelSpec spec = sm90_fwd_spec(with_walk(key, dynamic));
    const bool seen = std::any_of(specs.begin(), specs.end(),
                                  [&](const jit::KernelSpec& x) { return x.kernel_name == spec.kernel_name; });
    if (!seen) specs.push_back(std::move(spec));
  }
}

// `fa3jit warmup`'s prefill instances of (dtype, head dim, mask, longest key
// sequence), with the defaults sm90_key_for gives such a call.
void add_prefill_walks(std::vector<jit::KernelSpec>& specs, DType dt, int d, int mask, int max_seqlen_k) {
  const bool fp8 = dt == DType::fp8_e4m3;
  const bool masked = mask != k::kMaskNone;
  Sm90KernelKey key;
  key.dtype = dt;
  key.d = key.dv = fp8 ? sm90_fp8_instance_dim(d) : sm90_instance_dim(d);
  key.mask = mask;
  key.block_n = fp8 ? sm90_fp8_block_n(key.dv) : sm90_block_n(key.d, key.dv, masked, false, false, max_seqlen_k);
  key.pingpong = sm90_default_pingpong(key.d, key.dv, masked, dt);
  if (sm90_three_warpgroups_fit(key) && sm90_default_three_warpgroups(masked, max_seqlen_k))
    key = with_three_warpgroups(key);
  add_both_walks(specs, key);
}

}  // namespace

std::string Sm90KernelKey::describe() const {
  std::string s = std::string("sm90 fwd sm_90a ") + dtype_name(dtype) + " d" + std::to_string(d) + "/dv" +
                  std::to_string(dv) + " " + fwd_mask_name(mask);
  if (paged) s += " paged";
  if (varlen) s += " varlen";
  if (softcap) s += " softcap";
  if (sinks) s += " sinks";
  if (pack_gqa) s += " pack_gqa";
  if (pingpong) s += " pingpong";
  if (split) s += " split";
  if (dynamic) s += " dynamic";
  s += " tile " + std::to_string(64 * warpgroups) + "x" + std::to_string(block_n) + " s" + std::to_string(stages) + " q" +
       std::to_string(q_stages);
  return s;
}

int sm90_instance_dim(int d) {
  for (int c : {64, 96, 128, 192, 256})
    if (d <= c) return c;
  return 0;
}

int sm90_fp8_instance_dim(int d) {
  for (int c : {64, 128, 256})
    if (d <= c) return c;
  return 0;
}

int sm90_fp8_block_n(int dv) { return dv > 128 ? 64 : 128; }

bool sm90_full_speed_dims(int d, int dv, DType dtype) {
  if (dtype == DType::fp8_e4m3) return d == dv && sm90_fp8_instance_dim(d) == d;
  return d == dv && sm90_instance_dim(d) == d;
}

int sm90_block_n(int d, int dv, bool masked, bool paged, bool softcap, int max_seqlen_k) {
  // Registers per consumer thread: O is dv / 2 floats, S block_n / 2 and P
  // block_n / 4 live together; the 2-stage K/V ring plus Q fit in 227 KiB.
  const int m = std::max(d, dv);
  if (m <= 64) return paged || max_seqlen_k <= kSm90ShortKeys ? 128 : 192;
  if (m <= 96) return paged || !masked ? 128 : 160;
  if (m <= 128) return 128;
  if (m <= 192) return paged ? 64 : 112;
  return masked || paged || softcap ? 64 : 80;  // the mask / softcap code spills at 80
}

bool sm90_three_warpgroups_fit(const Sm90KernelKey& key) {
  return key.dtype != DType::fp8_e4m3 && key.d == 64 && key.dv == 64 && !key.paged && !key.split && !key.softcap;
}

bool sm90_default_three_warpgroups(bool masked, int max_seqlen_k) {
  return !masked || max_seqlen_k > kSm90ShortKeys;
}

bool sm90_default_pingpong(int d, int dv, bool masked, DType dtype) {
  const int m = std::max(d, dv);
  return dtype == DType::fp8_e4m3 || m <= 96 || (m <= 128 && masked);
}

int sm90_q_stages(int d, int dv, int block_n, int stages, DType dtype, bool tile_ring, int q_rows) {
  return k::smem_layout(d, dv, block_n, stages, 2, int(dtype_size(dtype)), tile_ring, q_rows).total <= 232448 ? 2 : 1;
}

int sm90_smem_bytes(const Sm90KernelKey& key) {
  return k::smem_layout(key.d, key.dv, key.block_n, key.stages, key.q_stages, int(dtype_size(key.dtype)), key.dynamic,
                        q_rows(key))
      .total;
}

int sm90_consumer_warpgroups(int64_t packed_rows) { return packed_rows <= 64 ? 1 : 2; }

int sm90_block_m(const Sm90KernelKey& key) { return k::block_m_of(flags_of(key)); }

int sm90_threads(const Sm90KernelKey& key) { return k::threads_of(flags_of(key)); }

bool sm90_can_pack(int h, int h_k) {
  const int group = h_k > 0 ? h / h_k : 0;
  return group > 1 && k::kBlockM % group == 0;
}

Sm90KernelKey sm90_key_for(const Plan& plan, bool three_warpgroups) {
  const fa3jit_k::AttnParams& p = plan.params;
  Sm90KernelKey key;
  key.dtype = plan.in_dtype;
  const bool fp8 = key.dtype == DType::fp8_e4m3;
  key.d = fp8 ? sm90_fp8_instance_dim(p.d) : sm90_instance_dim(p.d);
  key.dv = fp8 ? sm90_fp8_instance_dim(p.dv) : sm90_instance_dim(p.dv);
  key.mask = fwd_mask_kind(p);
  key.paged = p.page_table != nullptr;
  key.softcap = p.softcap > 0.f;
  // fp8: a multiple of 64 (the V transpose's chunks)
  key.block_n = fp8 ? sm90_fp8_block_n(key.dv)
                    : sm90_block_n(key.d, key.dv, key.mask != k::kMaskNone, key.paged, key.softcap, p.max_seqlen_k);
  // Pages of 64 keys (a common serving size) with 128-key blocks: 64-key blocks.
  if (key.paged && p.page_size % key.block_n != 0 && p.page_size % 64 == 0) key.block_n = 64;
  // FA3JIT_SM90_BLOCK_N replaces the key block (tuning on a new GPU): one of
  // the wgmma widths the kernel is built with that is a multiple of 16; fp8
  // takes it when it is a multiple of 64 (64, 128, 192) and else keeps its own.
  if (const char* text = std::getenv("FA3JIT_SM90_BLOCK_N"); text && *text) {
    char* end = nullptr;
    const long n = std::strtol(text, &end, 10);
    const bool ok = *end == '\0' && (n == 64 || n == 80 || n == 96 || n == 112 || n == 128 || n == 144 || n == 160 ||
                                     n == 176 || n == 192);
    if (!ok)
      throw Error(ErrorKind::InvalidValue, std::string("FA3JIT_SM90_BLOCK_N must be one of 64, 80, 96, 112, 128, 144, "
                                                       "160, 176, 192; got '") + text + "'");
    if (!fp8 || n % 64 == 0) key.block_n = int(n);
  }
  key.varlen = fwd_is_varlen(p);
  key.sinks = p.sinks != nullptr;
  key.pack_gqa = p.pack_gqa != 0 && sm90_can_pack(p.h, p.h_k);
  key.split = p.num_splits > 1;
  key.warpgroups = sm90_consumer_warpgroups(int64_t(p.max_seqlen_q) * (key.pack_gqa ? p.h / p.h_k : 1));
  // Three consumer warpgroups where they fit (sm90_three_warpgroups_fit)
  // and help (sm90_default_three_warpgroups); FA3JIT_SM90_WARPGROUPS=2|3
  // replaces the choice where they fit.
  const bool three =
      three_warpgroups_knob().value_or(sm90_default_three_warpgroups(key.mask != k::kMaskNone, p.max_seqlen_k));
  // A packed tile holds whole groups of q-heads (its Q box is 192 / group rows).
  const bool groups_fit = !key.pack_gqa || 192 % (p.h / p.h_k) == 0;
  if (three && three_warpgroups && groups_fit && key.warpgroups == 2 && sm90_three_warpgroups_fit(key))
    key = with_three_warpgroups(key);
  key.pingpong = sm90_default_pingpong(key.d, key.dv, key.mask != k::kMaskNone, key.dtype);
  // FA3JIT_SM90_PINGPONG=0|1 replaces the default (tuning).
  if (const auto v = knob("FA3JIT_SM90_PINGPONG", {"0", "1"}, "0 or 1")) key.pingpong = *v == "1";
  if (key.warpgroups == 1) key.pingpong = false;  // pingpong takes turns between warpgroups
  // FA3JIT_SM90_STAGES=2..4 replaces the K/V ring depth (tuning; a ring
  // that does not fit in shared memory is refused by check_sm90_supports).
  // Decode keeps 2 stages: measured 3.0 TB/s on an H100 (b64, 8k keys,
  // pages of 64 or 128); deeper rings are not measured yet.
  if (const auto v = knob("FA3JIT_SM90_STAGES", {"2", "3", "4"}, "2, 3 or 4")) key.stages = (*v)[0] - '0';
  // The dynamic walk: CTAs take tiles from a counter as they come free
  // (tile_ring.cuh; docs/notes/tile_balance.md). Measured on an H100
  // (session 7, bench/knobs/sm90_dynamic.txt): causal d128 +7-9%, d256
  // +13-18%, d64 +1-2%, non-causal d128 4k +2%. FA3JIT_SM90_SCHED=static
  // keeps the static snake walk. Not with paged KV (the page gather walks
  // the list on four warps) nor split-KV (ws holds the partials).
  return with_walk(key, dynamic_walk_knob().value_or(true) && !key.paged && !key.split);
}

Sm90KernelKey sm90_with_static_walk(const Sm90KernelKey& key) { return with_walk(key, false); }

bool sm90_three_warpgroups_pay(int64_t packed_rows, int64_t row_groups, int ctas) {
  if (three_warpgroups_knob() == true) return true;
  // per computed row (a 192-row tile computes its padding rows too):
  // 1.07 / 1.12 / 1.17 at 16k / 4k / 1k tokens (bench/knobs/sm90_three_wg.txt)
  constexpr double kThreeSpeedup = 1.15;
  auto time = [&](int rows, double speed) {
    const double tiles = double((packed_rows + rows - 1) / rows) * double(row_groups);
    return std::max(1.0, tiles / ctas) * rows / speed;
  };
  return time(192, kThreeSpeedup) <= time(128, 1.0);
}

Sm90KernelKey sm90_walk_for_tiles(const Sm90KernelKey& key, int64_t tiles, int ctas) {
  if (!key.dynamic || tiles > ctas || dynamic_walk_knob() == true) return key;
  return with_walk(key, false);
}

jit::KernelSpec sm90_fwd_spec(const Sm90KernelKey& key) {
  jit::KernelSpec spec;
  spec.entry_file = "sm90/fwd.cu";
  spec.kernel_name = "fa3jit_k::sm90::fwd_kernel<" + std::to_string(key.d) + ", " + std::to_string(key.dv) + ", " +
                     std::to_string(key.block_n) + ", " + std::to_string(key.stages) + ", " +
                     std::to_string(int(key.dtype)) + ", " + std::to_string(key.mask) + ", " +
                     std::to_string(flags_of(key)) + ">";
  spec.arch = 90;
  spec.arch_specific = true;  // wgmma, setmaxnreg
  return spec;
}

std::vector<jit::KernelSpec> sm90_warmup_specs(int arch) {
  std::vector<jit::KernelSpec> specs;
  if (arch != 90) return specs;
  for (DType dt : {DType::bf16, DType::f16}) {
    // (head dim, longest key sequence): d 64 takes another key block for short sequences
    for (auto [d, keys] : {std::pair{64, kSm90ShortKeys}, {64, kSm90LongKeys}, {96, kSm90LongKeys},
                           {128, kSm90LongKeys}, {192, kSm90LongKeys}, {256, kSm90LongKeys}})
      for (int mask : {int(k::kMaskNone), int(k::kMaskCausal)}) add_prefill_walks(specs, dt, d, mask, keys);
    // Decode on a paged cache: GQA packed, causal; the 2-warpgroup kernel
    // (speculative decode, big groups) and the 1-warpgroup one, split and not.
    for (int d : {64, 128})
      for (int variant = 0; variant < 3; ++variant) {
        Sm90KernelKey key;
        key.dtype = dt;
        key.d = key.dv = d;
        key.block_n = sm90_block_n(d, d, true, true, false, kSm90LongKeys);
        key.warpgroups = variant == 0 ? 2 : 1;
        key.split = variant == 2;
        key.pingpong = key.warpgroups == 2 && sm90_default_pingpong(d, d, true, dt);
        key.mask = k::kMaskCausal;
        key.paged = true;
        key.pack_gqa = true;
        key.q_stages = sm90_q_stages(d, d, key.block_n, key.stages);
        specs.push_back(sm90_fwd_spec(key));
      }
  }
  return specs;
}

std::vector<jit::KernelSpec> sm90_warmup_family(const jit::WarmupFilter& f) {
  if (f.arch != 90) return {};
  if (f.all_common) return sm90_warmup_specs(f.arch);
  std::vector<jit::KernelSpec> specs;
  const std::vector<int> dims = f.head_dims.empty() ? std::vector<int>{128} : f.head_dims;
  const std::vector<DType> dtypes = f.dtypes.empty() ? std::vector<DType>{DType::bf16, DType::f16} : f.dtypes;
  const std::vector<int> masks = f.causal < 0 ? std::vector<int>{k::kMaskNone, k::kMaskCausal}
                                              : std::vector<int>{f.causal ? k::kMaskCausal : k::kMaskNone};
  for (DType dt : dtypes) {
    const bool fp8 = dt == DType::fp8_e4m3;  // fp8: with q/k descales, as serving calls it
    if (dt != DType::bf16 && dt != DType::f16 && !fp8) continue;
    for (int dim : dims) {
      if (sm90_instance_dim(dim) == 0) continue;
      for (int mask : masks)
        for (int keys : {kSm90ShortKeys, kSm90LongKeys})  // the key blocks of short and of long sequences
          add_prefill_walks(specs, dt, dim, mask, keys);
    }
  }
  return specs;
}

}  // namespace fa3jit::detail
