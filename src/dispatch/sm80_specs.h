// Specialization keys of the sm80 path: which kernel instance (head dims,
// dtype, mask kind, features, tile shape) a plan needs, and its KernelSpec
// for the JIT. Pure functions of the plan and the device: testable anywhere.
#pragma once
#include <string>
#include <vector>

#include "fa3jit/device.h"
#include "jit/jit.h"
#include "validate/plan.h"

namespace fa3jit::detail {

// Tile shape of one forward instance.
struct Sm80Tile {
  int block_m = 128;  // query rows per CTA
  int block_n = 64;   // keys per block
  int warps = 8;      // each warp owns block_m / warps rows
  int stages = 1;     // K/V buffers: 2 = the next block loads during this one
};

struct Sm80KernelKey {
  int arch = 80;                // sm_XY as XY
  DType dtype = DType::bf16;    // q / k / v (and qv)
  int d = 128, dv = 128;        // padded head dims (multiples of 32)
  int mask = 0;                 // fa3jit_k::sm80::kMaskNone / kMaskCausal / kMaskLocal
  bool paged = false;
  bool varlen = false;          // recorded for logs; sequence info is read at run time (same code)
  bool softcap = false;
  bool sinks = false;
  bool qv = false;
  bool only_qv = false;
  bool split = false;           // num_splits > 1: partials + combine
  bool pack_gqa = false;
  Sm80Tile tile;
  // e.g. "sm80 fwd sm_90 bfloat16 d128/dv128 causal paged split tile 128x64 w8 s2"
  std::string describe() const;
};

// Head dim of the instance that serves d: the next multiple of 32 (>= 32).
int sm80_padded_dim(int d);
// Opt-in shared memory per block of an arch, for keys built without a device
// (warmup): 163 KiB on sm_80/87, 227 KiB on sm_90/100, else 99 KiB.
int sm80_default_smem(int arch);
// The tile for padded head dims that fits in smem_limit bytes; block_m = 0
// when none fits. arch (sm_XY as XY) and softcap matter for the register
// budget (the largest tiles spill on sm_8x or with softcap).
Sm80Tile sm80_choose_tile(int d_pad, int dv_pad, bool has_qv, int smem_limit, int arch = 90, bool softcap = false);
// Bytes of dynamic shared memory of a key's kernel.
int sm80_smem_bytes(const Sm80KernelKey& key);

// The key of a plan on a device (d / dv padded, features from the params).
Sm80KernelKey sm80_key_for(const Plan& plan, const DeviceInfo& dev);

// The JIT spec of a forward key, and of the split-KV combine kernel
// (kernels/combine.cu) for an output dtype.
jit::KernelSpec sm80_fwd_spec(const Sm80KernelKey& key);
jit::KernelSpec combine_spec(int arch, DType out_dtype);

// Specs that `fa3jit warmup --all-common` precompiles for an arch: bf16 and
// fp16, d = dv in {64, 128, 256}, causal or not, plus the paged / split
// decode variants and the combine kernels.
std::vector<jit::KernelSpec> sm80_warmup_specs(int arch);

}  // namespace fa3jit::detail
