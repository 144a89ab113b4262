// Specialization keys of the sm90 (Hopper) path: which kernel instance
// (head dims, dtype, mask kind, features, key block) a plan needs, and its
// KernelSpec for the JIT. Pure functions of the plan: testable anywhere.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "fa3jit/device.h"
#include "jit/jit.h"
#include "jit/warmup.h"
#include "validate/plan.h"

namespace fa3jit::detail {

struct Sm90KernelKey {
  DType dtype = DType::bf16;  // q / k / v
  int d = 128, dv = 128;      // instance head dims: 64, 96, 128, 192 or 256
  int block_n = 128;          // keys per block (the query tile is 128 rows)
  int stages = 2;             // K/V buffers in the TMA ring
  int mask = 0;               // fa3jit_k::sm90::kMaskNone / kMaskCausal / kMaskLocal
  bool paged = false;
  bool varlen = false;        // recorded for logs; sequence info is read at run time
  bool softcap = false;
  bool sinks = false;
  bool pack_gqa = false;
  bool pingpong = true;       // consumer warpgroups alternate their MMAs (default: d, dv <= 128)
  int q_stages = 1;           // 2: the next tile's Q loads during this one (where smem allows)
  bool split = false;         // split-KV: fp32 partials into a workspace, then the combine kernel
  int warpgroups = 2;         // consumer warpgroups: 2 (128-row tiles), 1 (64-row decode tiles) or 3 (192 rows)
  bool dynamic = false;       // CTAs take tiles from a counter as they come free (tile_ring.cuh)
  // e.g. "sm90 fwd sm_90a bfloat16 d128/dv128 causal paged tile 128x128 s2"
  std::string describe() const;
};

// The instance head dim that serves d (<= 256): 64, 96, 128, 192 or 256.
int sm90_instance_dim(int d);
// fp8 e4m3: 64, 128 or 256 (the in-kernel V transpose splits dv into
// 64-column parts), 0 above 256.
int sm90_fp8_instance_dim(int d);
// Keys per block of the fp8 kernels: 128 (a V^T row is one 128-byte swizzle
// row of keys); 64 for dv = 256 (O's 128 accumulators, S and P of 128 keys
// and the mask state spill beyond 240 registers; V^T rows then half full),
// and for pages of 64 keys.
int sm90_fp8_block_n(int dv);
// True for the head dims the sm90 path runs at full speed (d = dv in
// {64, 96, 128, 192, 256}; fp8: {64, 128, 256}); others run padded.
bool sm90_full_speed_dims(int d, int dv, DType dtype = DType::bf16);
// Keys per block for instance head dims (fits the TMA ring and the registers;
// measured on an H100: d64 192, but 128 where no key sequence is longer
// than kSm90ShortKeys (session 6 suite: 512-1k tokens +12-15%, 2k even, 4k+
// 1-4% slower); d96 128 without a mask and 160 with one; d128 128 (160 with
// a mask was 4-17% slower at 512-2k tokens, even from 4k); d256 80 without
// a mask or softcap (+10%), else 64, as 80 spills). Paged KV takes a power
// of two (pages are multiples of it): 128 up to d = 128, else 64.
constexpr int kSm90ShortKeys = 2048;
constexpr int kSm90LongKeys = 1 << 30;  // "any length": the key block of long sequences
int sm90_block_n(int d, int dv, bool masked, bool paged, bool softcap, int max_seqlen_k);
// Whether a key can take three consumer warpgroups (192-row tiles, as FA3
// at d 64): 16-bit d = dv = 64 without pages, splits or softcap (their 160
// registers hold S, P and O of 128-key blocks at most; softcap with a local
// mask spills there).
bool sm90_three_warpgroups_fit(const Sm90KernelKey& key);
// Whether such a key takes them by default (prefill with more than 64
// packed rows), measured on an H100 (session 7,
// bench/knobs/sm90_three_wg.txt, against two): 4k +8-10%, 16k +5-7%, 1k
// non-causal +4% but causal -3%, so masked calls with at most
// kSm90ShortKeys keys keep two.
bool sm90_default_three_warpgroups(bool masked, int max_seqlen_k);
// Whether 192-row tiles beat 128-row ones on a grid of `row_groups` x
// (packed_rows / tile rows) tiles and `ctas` CTAs, time ~ max(1, tiles /
// ctas) x tile rows / speed (three warpgroups measured 1.07-1.17x as fast
// per computed row): a grid of one wave of 128-row tiles or less keeps two
// (fewer, longer tiles leave it no faster). True when
// FA3JIT_SM90_WARPGROUPS=3.
bool sm90_three_warpgroups_pay(int64_t packed_rows, int64_t row_groups, int ctas);
// Whether the consumer warpgroups pingpong by default (measured on an H100,
// scripts/gpu_knobs.sh bench/knobs/sm90_sweep.txt): head dims up to 96 (+6%
// at d64); d128 with a mask (causal 4k +6%, 16k +3%; without a mask the
// overlap inside a warpgroup alone was 1-3% faster); fp8 (d256 +2%, d128
// even); not bf16 d256 (-1% causal, -6% at 16k).
bool sm90_default_pingpong(int d, int dv, bool masked, DType dtype);
// Q buffers of an instance: 2 where they fit in 227 KiB with the K/V ring.
// `q_rows`: rows of a Q buffer (192 with three consumer warpgroups).
int sm90_q_stages(int d, int dv, int block_n, int stages, DType dtype = DType::bf16, bool tile_ring = false,
                  int q_rows = 128);
// Bytes of dynamic shared memory of a key's kernel.
int sm90_smem_bytes(const Sm90KernelKey& key);
// Consumer warpgroups for tiles whose longest sequence has `packed_rows`
// query rows per tile row group (max_seqlen_q, times h / h_k when packed):
// 1 (the 64-row decode kernel) when they fit in 64, else 2.
int sm90_consumer_warpgroups(int64_t packed_rows);
// Query rows per tile of a key's kernel (64 per consumer warpgroup).
int sm90_block_m(const Sm90KernelKey& key);
// Threads per CTA of a key's kernel (the producer warpgroup + consumers).
int sm90_threads(const Sm90KernelKey& key);

// The key of a plan with its schedule resolved: split when num_splits > 1;
// pack_gqa as the plan says, when the group of q-heads divides the 128-row
// tile; one consumer warpgroup when the packed rows fit in 64; paged KV with
// pages of 64 (not 128) keys takes 64-key blocks.
// The tile walk is dynamic (FA3JIT_SM90_SCHED unset or dynamic) except
// with paged KV or splits.
// `three_warpgroups` false: two where three would fit (the launch's grid
// did not pay for them, sm90_three_warpgroups_pay).
Sm90KernelKey sm90_key_for(const Plan& plan, bool three_warpgroups = true);
// The key with the static tile walk: q_stages follows the smaller shared memory.
Sm90KernelKey sm90_with_static_walk(const Sm90KernelKey& key);
// The walk of a launch of `tiles` tiles on `ctas` CTAs: static when every
// CTA has one tile at most (nothing to balance, and a captured graph needs
// no counter), unless FA3JIT_SM90_SCHED=dynamic asks for it.
Sm90KernelKey sm90_walk_for_tiles(const Sm90KernelKey& key, int64_t tiles, int ctas);
// Whether pack_gqa can be honoured: h / h_k divides the 128-row tile.
bool sm90_can_pack(int h, int h_k);

jit::KernelSpec sm90_fwd_spec(const Sm90KernelKey& key);

// Specs that `fa3jit warmup` precompiles for an arch (none unless 90):
// bf16 and fp16, d = dv in {64, 96, 128, 192, 256}, causal or not, plus
// paged decode (packed GQA, causal) for d 64 / 128: the 2-warpgroup kernel
// and the 1-warpgroup one, split and not (the combine kernel is the sm80
// family's, built for every arch).
std::vector<jit::KernelSpec> sm90_warmup_specs(int arch);
// The `fa3jit warmup` family: sm90_warmup_specs with --all-common, else the
// forward kernels of the requested head dims / dtypes / masks (sm_90 only).
std::vector<jit::KernelSpec> sm90_warmup_family(const jit::WarmupFilter& filter);

}  // namespace fa3jit::detail
